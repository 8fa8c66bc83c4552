//! Console: the admin pages (handler tests; browser scenarios in scenarios.rs).
