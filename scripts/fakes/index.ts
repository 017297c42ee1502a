/**
 * Loopback fakes of the outside world, shared by the vitest globalSetup and `npm run dev`. Each listens on
 * 127.0.0.1 (port 0 = any free port) and has an HTTP control API, because the Worker under test runs inside
 * workerd and tests can only reach them over loopback.
 */
export { type HibpFake, type HibpFakeOptions, type HibpRequest, sha1Hex, startHibpFake } from "./hibp.ts";
export {
  DEFAULT_IDENTITY,
  type Identity,
  type OidcFake,
  type OidcFakeOptions,
  startOidcFake,
  type Tamper,
} from "./oidc.ts";
export { type Mail, type SmtpSink, type SmtpSinkOptions, startSmtpSink } from "./smtp-sink.ts";
export {
  type Behaviour,
  type RecordedRequest,
  startWebhookFake,
  type WebhookFake,
  type WebhookFakeOptions,
} from "./webhook.ts";
