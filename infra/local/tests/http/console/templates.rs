//! Console: the templates pages (handler tests; browser scenarios in scenarios.rs).
