//! Console: the contacts pages (handler tests; browser scenarios in scenarios.rs).
