//! Lambda `reconciler`: invoked by an EventBridge schedule; re-queues stranded work.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::sqs_lambda::Error> {
    miping::runtime::schedule_lambda::serve_reconciler().await
}
