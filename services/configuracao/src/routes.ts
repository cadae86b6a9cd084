import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  type ConfiguracaoChange,
  ConfiguracaoService,
  CorrectIndiceValorRequestSchema,
  CorrectIndiceValorResponseSchema,
  CreateFeatureFlagRequestSchema,
  CreateFeatureFlagResponseSchema,
  CreateParametroRequestSchema,
  CreateParametroResponseSchema,
  DeleteFeatureFlagRequestSchema,
  DeleteFeatureFlagResponseSchema,
  DeleteParametroRequestSchema,
  DeleteParametroResponseSchema,
  MarkIndiceValorUsadoRequestSchema,
  MarkIndiceValorUsadoResponseSchema,
  RegisterIndiceValorRequestSchema,
  RegisterIndiceValorResponseSchema,
  UpdateFeatureFlagRequestSchema,
  UpdateFeatureFlagResponseSchema,
  UpdateParametroRequestSchema,
  UpdateParametroResponseSchema,
  WatchResponseSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import {
  InvalidArgumentError,
  principalKey,
  ResourceExhaustedError,
  type ServiceContext,
} from "@consorcio/platform";
import type { Configuracao } from "./configuracao.ts";
import type { WatchHub } from "./watch.ts";

const actorOf = (context: HandlerContext) => context.values.get(principalKey)?.subject ?? "";

const required = (field: string) => new InvalidArgumentError([{ field, message: "required" }]);

export interface WatchSettings {
  heartbeatMs: number;
  maxStreams: number;
}

export function routes(
  router: ConnectRouter,
  { tx, db }: ServiceContext,
  configuracao: Configuracao,
  hub: WatchHub,
  watch: WatchSettings,
): void {
  /** Runs a mutation; once it committed, drops the stale cache entries and wakes the watchers. */
  const mutate = async <T>(run: (keep: (changes: ConfiguracaoChange[]) => void) => Promise<T>) => {
    let changes: ConfiguracaoChange[] = [];
    const response = await run((made) => {
      changes = made;
    });
    if (changes.length > 0) {
      await configuracao.invalidate(changes);
      hub.wake();
    }
    return response;
  };

  router.service(ConfiguracaoService, {
    createParametro: (req, context) =>
      mutate((keep) => {
        const parametro = req.parametro;
        if (!parametro) throw required("parametro");
        return tx.idempotent(
          context,
          { schema: CreateParametroRequestSchema, message: req, requestId: req.requestId },
          CreateParametroResponseSchema,
          async (uow) => {
            const done = await configuracao.createParametro(uow, parametro, actorOf(context));
            keep(done.changes);
            return create(CreateParametroResponseSchema, { parametro: done.value });
          },
        );
      }),
    async getParametro(req) {
      return { parametro: await configuracao.getParametro(db.fork(), req.key) };
    },
    listParametros: (req) => configuracao.listParametros(db.fork(), req),
    updateParametro: (req, context) =>
      mutate((keep) => {
        const parametro = req.parametro;
        if (!parametro) throw required("parametro");
        return tx.idempotent(
          context,
          { schema: UpdateParametroRequestSchema, message: req, requestId: req.requestId },
          UpdateParametroResponseSchema,
          async (uow) => {
            const done = await configuracao.updateParametro(
              uow,
              parametro,
              req.updateMask?.paths ?? [],
              actorOf(context),
            );
            keep(done.changes);
            return create(UpdateParametroResponseSchema, { parametro: done.value });
          },
        );
      }),
    deleteParametro: (req, context) =>
      mutate((keep) =>
        tx.idempotent(
          context,
          { schema: DeleteParametroRequestSchema, message: req, requestId: req.requestId },
          DeleteParametroResponseSchema,
          async (uow) => {
            keep((await configuracao.deleteParametro(uow, req.key, req.version, actorOf(context))).changes);
            return create(DeleteParametroResponseSchema);
          },
        ),
      ),

    createFeatureFlag: (req, context) =>
      mutate((keep) => {
        const flag = req.flag;
        if (!flag) throw required("flag");
        return tx.idempotent(
          context,
          { schema: CreateFeatureFlagRequestSchema, message: req, requestId: req.requestId },
          CreateFeatureFlagResponseSchema,
          async (uow) => {
            const done = await configuracao.createFlag(uow, flag, actorOf(context));
            keep(done.changes);
            return create(CreateFeatureFlagResponseSchema, { flag: done.value });
          },
        );
      }),
    async getFeatureFlag(req) {
      return { flag: await configuracao.getFlag(db.fork(), req.key) };
    },
    listFeatureFlags: (req) => configuracao.listFlags(db.fork(), req),
    updateFeatureFlag: (req, context) =>
      mutate((keep) => {
        const flag = req.flag;
        if (!flag) throw required("flag");
        return tx.idempotent(
          context,
          { schema: UpdateFeatureFlagRequestSchema, message: req, requestId: req.requestId },
          UpdateFeatureFlagResponseSchema,
          async (uow) => {
            const done = await configuracao.updateFlag(
              uow,
              flag,
              req.updateMask?.paths ?? [],
              actorOf(context),
            );
            keep(done.changes);
            return create(UpdateFeatureFlagResponseSchema, { flag: done.value });
          },
        );
      }),
    deleteFeatureFlag: (req, context) =>
      mutate((keep) =>
        tx.idempotent(
          context,
          { schema: DeleteFeatureFlagRequestSchema, message: req, requestId: req.requestId },
          DeleteFeatureFlagResponseSchema,
          async (uow) => {
            keep((await configuracao.deleteFlag(uow, req.key, req.version, actorOf(context))).changes);
            return create(DeleteFeatureFlagResponseSchema);
          },
        ),
      ),
    async evaluateFeatureFlag(req, context) {
      const principal = context.values.get(principalKey);
      // Without a subject the answer is the caller's own, with the caller's roles.
      const own = req.subject === "";
      return configuracao.evaluateFlag(
        db.fork(),
        req.key,
        own ? (principal?.subject ?? "") : req.subject,
        own && req.roles.length === 0 ? (principal?.roles ?? []) : req.roles,
      );
    },

    registerIndiceValor: (req, context) =>
      mutate((keep) => {
        const referencia = req.referencia;
        if (!referencia) throw required("referencia");
        return tx.idempotent(
          context,
          { schema: RegisterIndiceValorRequestSchema, message: req, requestId: req.requestId },
          RegisterIndiceValorResponseSchema,
          async (uow) => {
            const done = await configuracao.registerIndice(uow, { ...req, referencia }, actorOf(context));
            keep(done.changes);
            return create(RegisterIndiceValorResponseSchema, { valor: done.value });
          },
        );
      }),
    correctIndiceValor: (req, context) =>
      mutate((keep) => {
        const referencia = req.referencia;
        if (!referencia) throw required("referencia");
        return tx.idempotent(
          context,
          { schema: CorrectIndiceValorRequestSchema, message: req, requestId: req.requestId },
          CorrectIndiceValorResponseSchema,
          async (uow) => {
            const done = await configuracao.correctIndice(uow, { ...req, referencia }, actorOf(context));
            keep(done.changes);
            return create(CorrectIndiceValorResponseSchema, { valor: done.value });
          },
        );
      }),
    async getIndiceValor(req) {
      if (!req.referencia) throw required("referencia");
      return { valor: await configuracao.getIndice(db.fork(), req.indice, req.referencia) };
    },
    listIndiceValores: (req) => configuracao.listIndices(db.fork(), req),
    markIndiceValorUsado: (req, context) =>
      mutate((keep) => {
        const referencia = req.referencia;
        if (!referencia) throw required("referencia");
        return tx.idempotent(
          context,
          { schema: MarkIndiceValorUsadoRequestSchema, message: req, requestId: req.requestId },
          MarkIndiceValorUsadoResponseSchema,
          async (uow) => {
            const done = await configuracao.markIndiceUsado(uow, { ...req, referencia }, actorOf(context));
            keep(done.changes);
            return create(MarkIndiceValorUsadoResponseSchema, { valor: done.value });
          },
        );
      }),

    async *watch(req, context) {
      if (hub.size() >= watch.maxStreams)
        throw new ResourceExhaustedError("too many watchers on this replica: retry later");
      const topics = new Set(req.topics);
      // Registered before the snapshot is read, so no change between the two is lost.
      const subscription = hub.subscribe(topics);
      try {
        const { revision, snapshot } = await configuracao.snapshot(db, topics);
        yield create(WatchResponseSchema, { revision, event: { case: "snapshot", value: snapshot } });
        yield* subscription.stream(revision, context.signal, watch.heartbeatMs);
      } finally {
        subscription.close();
      }
    },
  });
}
