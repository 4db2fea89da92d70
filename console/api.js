// The console's only way to the server: the public API, signed here in the browser with
// TC3-HMAC-SHA256 exactly as the official SDKs sign it (docs/api.md, ../shared/api/NOTES.md).
// The server keeps no session; the key is kept in this tab's sessionStorage only.

const VERSION = "2017-03-12";
const encoder = new TextEncoder();

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(text)));
}

// WebCrypto exists only in a secure context: HTTPS, or a loopback address.
export function canSign() {
  return typeof crypto !== "undefined" && crypto.subtle !== undefined;
}

// The Authorization header of a POST with a JSON body, signed over content-type and host.
// `host` is the host name without its port; the credential scope's service is its first label,
// as the SDK derives it from the endpoint it is given.
export async function authorization({ secretId, secretKey }, host, timestamp, body) {
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const service = host.split(".")[0];
  const canonical = [
    "POST", "/", "", "content-type:application/json", `host:${host}`, "", "content-type;host",
    await sha256Hex(body),
  ].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const toSign = ["TC3-HMAC-SHA256", String(timestamp), scope, await sha256Hex(canonical)].join("\n");
  const kDate = await hmac(encoder.encode(`TC3${secretKey}`), date);
  const kService = await hmac(kDate, service);
  const kSigning = await hmac(kService, "tc3_request");
  const signature = hex(await hmac(kSigning, toSign));
  return `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`;
}

// An error the API answered: its code and message, as the SDK's exception carries them.
export class ApiError extends Error {
  constructor(code, message, requestId) {
    super(message);
    this.code = code;
    this.requestId = requestId || "";
  }
}

// Calls an action in `region` and returns the Response object, or throws ApiError. A network
// failure or a reply that is not the API's envelope is thrown as ApiError with code "Network".
export async function call(credentials, action, params = {}, region = credentials.region) {
  const body = JSON.stringify(params);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    "Content-Type": "application/json",
    "X-TC-Action": action,
    "X-TC-Version": VERSION,
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Region": region,
    Authorization: await authorization(credentials, location.hostname, timestamp, body),
  };
  let reply;
  try {
    const response = await fetch("/", { method: "POST", headers, body, credentials: "omit", cache: "no-store" });
    reply = await response.json();
  } catch (e) {
    throw new ApiError("Network", String(e && e.message ? e.message : e));
  }
  const r = reply && reply.Response;
  if (!r) throw new ApiError("Network", "the server did not answer with the API's envelope");
  if (r.Error) throw new ApiError(r.Error.Code, r.Error.Message, r.RequestId);
  return r;
}

const KEY = "imagegate.credentials";

export function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return c && c.secretId && c.secretKey && c.region ? c : null;
  } catch {
    return null;
  }
}

export function saveCredentials(c) {
  sessionStorage.setItem(KEY, JSON.stringify({ secretId: c.secretId, secretKey: c.secretKey, region: c.region }));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
}
