// Second reference: a bare @grpc/grpc-js server echoing the raw message bytes (no protobuf work).
import * as grpc from "@grpc/grpc-js";
import { serveChild } from "../lib/child.ts";

const ECHO_PATH = "/bench.Echo/Echo";

const identity = (bytes: Buffer) => bytes;
const echo: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server();
server.addService(echo, {
  Echo(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
    callback(null, call.request);
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  serveChild({ port, path: ECHO_PATH }, () => new Promise((resolve) => server.tryShutdown(() => resolve())));
});
