import { type DescFile, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import * as v1 from "@consorcio/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@consorcio/gen/grpc/reflection/v1alpha/reflection_pb.js";

/** Files, symbols and extensions of the served services and everything they import. */
class DescriptorIndex {
  readonly services: string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly extensions = new Map<string, Map<number, DescFile>>();

  constructor(services: readonly DescService[]) {
    this.services = services.map((service) => service.typeName);
    for (const service of services) this.addFile(service.file);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.name)) return;
    this.files.set(file.name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
    const addMessage = (message: DescMessage) => {
      this.symbols.set(message.typeName, file);
      for (const field of message.fields) this.symbols.set(`${message.typeName}.${field.name}`, file);
      for (const nested of message.nestedMessages) addMessage(nested);
      for (const nested of message.nestedEnums) this.symbols.set(nested.typeName, file);
      for (const ext of message.nestedExtensions)
        this.addExtension(ext.extendee.typeName, ext.number, ext.typeName, file);
    };
    for (const message of file.messages) addMessage(message);
    for (const enumeration of file.enums) this.symbols.set(enumeration.typeName, file);
    for (const ext of file.extensions)
      this.addExtension(ext.extendee.typeName, ext.number, ext.typeName, file);
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
  }

  private addExtension(extendee: string, number: number, typeName: string, file: DescFile): void {
    this.symbols.set(typeName, file);
    const numbers = this.extensions.get(extendee) ?? new Map<number, DescFile>();
    numbers.set(number, file);
    this.extensions.set(extendee, numbers);
  }

  /** The file and its transitive imports, serialized, the file first. */
  closure(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }

  fileByName(name: string) {
    return this.files.get(name);
  }
  fileBySymbol(symbol: string) {
    return this.symbols.get(symbol.replace(/^\./, ""));
  }
  fileByExtension(extendee: string, number: number) {
    return this.extensions.get(extendee.replace(/^\./, ""))?.get(number);
  }
  extensionNumbers(extendee: string): number[] | undefined {
    const numbers = this.extensions.get(extendee.replace(/^\./, ""));
    return numbers ? [...numbers.keys()].sort((a, b) => a - b) : undefined;
  }
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

function answer(index: DescriptorIndex, request: Request) {
  const notFound = (what: string) => ({
    case: "errorResponse" as const,
    value: { errorCode: 5, errorMessage: `${what} not found` },
  });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: index.closure(file) } }
      : notFound(what);
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return {
        case: "listServicesResponse" as const,
        value: { service: index.services.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return files(index.fileByName(req.value), `file ${req.value}`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(req.value), `symbol ${req.value}`);
    case "fileContainingExtension":
      return files(
        index.fileByExtension(req.value.containingType, req.value.extensionNumber),
        `extension ${req.value.containingType}(${req.value.extensionNumber})`,
      );
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(req.value);
      return numbers
        ? {
            case: "allExtensionNumbersResponse" as const,
            value: { baseTypeName: req.value, extensionNumber: numbers },
          }
        : notFound(`type ${req.value}`);
    }
    default:
      return { case: "errorResponse" as const, value: { errorCode: 3, errorMessage: "empty request" } };
  }
}

/** Server reflection, v1 and v1alpha, so grpcurl and `buf curl` can discover the API. */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  // Health is served by every service too, so clients listing services find it.
  const index = new DescriptorIndex([...services, Health, v1.ServerReflection]);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request) };
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request) };
      }
    },
  });
}
