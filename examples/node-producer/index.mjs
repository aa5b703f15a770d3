// Publish one ZNS message to zns-relay's SendQueue (docs/contract.md).
//   SEND_QUEUE_URL=https://sqs.ap-southeast-1.amazonaws.com/123456789012/zns-relay-prod-SendQueue-EXAMPLE node index.mjs
// The body is example-message.json, which a test checks against schema/zns-message.schema.json.
import { readFileSync } from "node:fs";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";

const queueUrl = process.env.SEND_QUEUE_URL;
if (!queueUrl) {
  console.error("SEND_QUEUE_URL is not set: the stack's SendQueueUrl output");
  process.exit(2);
}

const message = JSON.parse(readFileSync(new URL("./example-message.json", import.meta.url), "utf8"));
// The RequestId is the idempotency key: made once per message, before the first attempt, and sent
// unchanged on every retry, so that a retry of a message that did reach the queue is never sent twice.
const body = JSON.stringify(message);

const sqs = new SQSClient({}); // region and credentials from the environment, as every AWS SDK
const ATTEMPTS = 3;

for (let attempt = 1; ; attempt += 1) {
  try {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    console.log(`queued ${message.RequestId} as SQS message ${sent.MessageId}`);
    break;
  } catch (error) {
    // A timeout leaves it unknown whether SQS took the message: send the same body (same RequestId)
    // again; zns-relay sends a RequestId to eSMS once, however many copies arrive.
    if (attempt === ATTEMPTS) throw error;
    console.warn(`attempt ${attempt} failed (${error.name}): retrying ${message.RequestId}`);
    await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
  }
}
