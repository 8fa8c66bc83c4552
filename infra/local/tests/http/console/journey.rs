//! Console: the journey pages (handler tests; browser scenarios in scenarios.rs).
