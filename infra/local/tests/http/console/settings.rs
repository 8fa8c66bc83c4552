//! Console: the settings pages (handler tests; browser scenarios in scenarios.rs).
