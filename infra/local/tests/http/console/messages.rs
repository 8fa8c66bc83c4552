//! Console: the messages pages (handler tests; browser scenarios in scenarios.rs).
