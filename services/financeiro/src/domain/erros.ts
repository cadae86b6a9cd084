// Bad input to the engine. The service maps it to InvalidArgument with one field violation;
// `field` names the input as the engine calls it (the service renames it to its request field).
export class EngineInputError extends RangeError {
  readonly field: string;
  readonly ruleId: string;
  constructor(field: string, ruleId: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "EngineInputError";
    this.field = field;
    this.ruleId = ruleId;
  }
}

export function requireInput(condition: boolean, field: string, ruleId: string, message: string): void {
  if (!condition) throw new EngineInputError(field, ruleId, message);
}
