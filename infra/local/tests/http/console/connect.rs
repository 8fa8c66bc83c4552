//! Console: the connect pages (handler tests; browser scenarios in scenarios.rs).
