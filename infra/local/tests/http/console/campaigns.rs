//! Console: the campaigns pages (handler tests; browser scenarios in scenarios.rs).
