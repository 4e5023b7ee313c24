// Starts npm @modelcontextprotocol/server-everything in its streamable HTTP mode on 127.0.0.1,
// on a port the OS picks, and prints `PORT <n>` once it listens (the server itself reads a
// fixed PORT and listens on every interface).
//
// usage: node everything_http.mjs <path to the server-everything package>
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  const callbacks = args.filter((a) => typeof a === "function");
  this.once("listening", () => console.log(`PORT ${this.address().port}`));
  return listen.call(this, 0, "127.0.0.1", ...callbacks);
};
const pkg = process.argv[2];
await import(pathToFileURL(path.join(pkg, "dist/transports/streamableHttp.js")).href);
