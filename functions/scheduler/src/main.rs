//! Lambda `scheduler`: invoked by an EventBridge schedule; releases what is due.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::sqs_lambda::Error> {
    miping::runtime::schedule_lambda::serve().await
}
