import type { OutboxEntry } from "../objects/dev-outbox";
import { Layout } from "./layout";

/** Dev-only list of SMS messages the outbox provider kept instead of sending. */
export function OutboxPage(props: { messages: OutboxEntry[] }) {
  return (
    <Layout title="Dev SMS outbox">
      <div class="wide">
        <h1>Dev SMS outbox</h1>
        <p class="muted">Messages that would have been sent (DEMO_MODE). Newest first; reload to refresh.</p>
        {props.messages.length === 0 ? (
          <p>No messages yet. Call the API, then reload.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Sent</th>
                <th>To</th>
                <th>Text</th>
              </tr>
            </thead>
            <tbody>
              {props.messages.map((m) => (
                <tr>
                  <td>{new Date(m.sentAt).toISOString().slice(11, 19)}</td>
                  <td>{m.to}</td>
                  <td>
                    {m.text.replace(m.link, "").trim()} <a href={m.link}>{m.link}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Layout>
  );
}
