import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import { requireSession, sessionOf } from "../../modules/auth/index.js";
import { actorOf, type TeamMember } from "../../modules/people/index.js";
import { keepOfferedKey } from "../../modules/inbound-mail/index.js";
import { transitionReport } from "../../modules/reports/index.js";
import { addUpstream, changeReportChannel, changeUpstream, postTeamMessage, removeUpstream, updateReportTriage } from "../../modules/triage/index.js";
import { formField } from "../team/team-pages.js";
import { idParams, type DeskContext } from "./desk-context.js";
import { sendReportPage } from "./report-page.routes.js";
import { assessmentForm, bountyForm, channelForm, changeUpstreamForm, createUpstreamForm, messageForm, ownerForm, readForm, transitionForm } from "./report-forms.js";

const upstreamParams = idParams.extend({ upstreamId: z.coerce.number().int().positive() });

/** Where each form sits on the report page: a successful post returns there. */
const ANCHORS: Record<string, string> = {
  reply: "messages",
  note: "messages",
  transition: "actions",
  assessment: "assessment",
  "assessment-triaged": "assessment",
  owner: "assessment",
  bounty: "bounty",
  upstream: "upstreams",
  "upstream-removed": "upstreams",
  "key-kept": "received-mail",
  channel: "assessment",
};

/** Only the string fields of a posted form, for keeping the input on a refused post. */
function formValues(body: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  if (body && typeof body === "object") {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (name !== "_csrf" && typeof value === "string") values[name] = value.slice(0, 60_000);
    }
  }
  return values;
}

/**
 * The report page's actions. Every form is CSRF-checked, every action needs
 * `reports:write` on the server whatever the page showed, and a successful post
 * redirects back to the page (POST-redirect-GET).
 */
export function registerReportActions(app: HttpApp, ctx: DeskContext): void {
  const { db, clock } = ctx;
  const writer = requireSession(ctx.auth, "reports:write");
  const routeOptions = (params: z.ZodType = idParams) => ({ schema: { hide: true, params }, preHandler: [app.csrfProtection, writer] });

  /**
   * Runs one action: on success back to the page (303), on a refusal the page again with
   * the errors next to the form's fields and the input kept.
   */
  const act = async (request: FastifyRequest, reply: FastifyReply, form: string, run: (id: number, member: TeamMember) => Promise<string>) => {
    const { id } = request.params as { id: number };
    const { member } = sessionOf(request);
    try {
      const done = await run(id, member);
      return reply.code(303).header("cache-control", "no-store").redirect(`/desk/reports/${id}?done=${done}#${ANCHORS[done] ?? "top"}`);
    } catch (error) {
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        // The services name bounty fields `bounty.amount`…; the form calls them `amount`.
        const fields = Object.fromEntries(Object.entries(error.fields ?? {}).map(([name, text]) => [name.replace(/^bounty\./, ""), text]));
        return sendReportPage(ctx, request, reply, id, { form, fields, message: error.message, values: formValues(request.body), status: error.kind === "invalid" ? 400 : 409 });
      }
      throw error;
    }
  };

  app.post("/desk/reports/:id/messages", routeOptions(), async (request, reply) => {
    const internal = formField(request.body, "kind") === "note";
    return act(request, reply, "message", async (id, member) => {
      await postTeamMessage(ctx, actorOf(member), id, readForm(messageForm, request.body));
      if (!internal) ctx.onChanged();
      return internal ? "note" : "reply";
    });
  });

  app.post("/desk/reports/:id/transitions", routeOptions(), async (request, reply) =>
    act(request, reply, ["transition", formField(request.body, "to", 40), formField(request.body, "supportHandover", 40)].filter(Boolean).join("-"), async (id, member) => {
      await transitionReport(ctx, await ctx.settings.get(), actorOf(member), id, readForm(transitionForm, request.body));
      ctx.onChanged();
      return "transition";
    }),
  );

  app.post("/desk/reports/:id/assessment", routeOptions(), async (request, reply) =>
    act(request, reply, "assessment", async (id, member) => {
      const patch = readForm(assessmentForm, request.body);
      const actor = actorOf(member);
      const settings = await ctx.settings.get();
      await updateReportTriage(ctx, settings, actor, id, patch);
      // Only a ticked box moves the report: it is never ticked for the member.
      if (formField(request.body, "markTriaged") === "yes") {
        try {
          await transitionReport(ctx, settings, actor, id, { to: "triaged", reason: formField(request.body, "reason", 5000).trim() || "Triaged on the desk" });
          ctx.onChanged();
        } catch (error) {
          if (error instanceof DomainError && error.kind === "conflict") {
            throw new DomainError(error.code, "conflict", `The assessment is saved, but the report is not marked triaged. ${error.message}`);
          }
          throw error;
        }
        return "assessment-triaged";
      }
      return "assessment";
    }),
  );

  app.post("/desk/reports/:id/channel", routeOptions(), async (request, reply) =>
    act(request, reply, "channel", async (id, member) => {
      await changeReportChannel(ctx, await ctx.settings.get(), actorOf(member), id, readForm(channelForm, request.body));
      ctx.onChanged();
      return "channel";
    }),
  );

  /** Keeps the key a received message offered as the reporter's key (audited). */
  app.post("/desk/reports/:id/offered-key", routeOptions(), async (request, reply) => {
    const inboundMessageId = Number(formField(request.body, "inboundMessageId", 20));
    return act(request, reply, `offered-key-${Number.isSafeInteger(inboundMessageId) ? inboundMessageId : 0}`, async (id, member) => {
      await keepOfferedKey(db, ctx.settings, clock, actorOf(member), id, Number.isSafeInteger(inboundMessageId) && inboundMessageId > 0 ? inboundMessageId : 0);
      return "key-kept";
    });
  });

  app.post("/desk/reports/:id/owner", routeOptions(), async (request, reply) =>
    act(request, reply, "owner", async (id, member) => {
      await updateReportTriage(ctx, await ctx.settings.get(), actorOf(member), id, readForm(ownerForm, request.body));
      return "owner";
    }),
  );

  app.post("/desk/reports/:id/bounty", routeOptions(), async (request, reply) =>
    act(request, reply, "bounty", async (id, member) => {
      await updateReportTriage(ctx, await ctx.settings.get(), actorOf(member), id, readForm(bountyForm, request.body));
      return "bounty";
    }),
  );

  app.post("/desk/reports/:id/upstreams", routeOptions(), async (request, reply) =>
    act(request, reply, "upstream-new", async (id, member) => {
      await addUpstream(db, clock, actorOf(member), id, readForm(createUpstreamForm, request.body));
      return "upstream";
    }),
  );

  app.post("/desk/reports/:id/upstreams/:upstreamId", routeOptions(upstreamParams), async (request, reply) => {
    const { upstreamId } = request.params as z.infer<typeof upstreamParams>;
    return act(request, reply, `upstream-${upstreamId}`, async (id, member) => {
      await changeUpstream(db, clock, actorOf(member), id, upstreamId, readForm(changeUpstreamForm, request.body));
      return "upstream";
    });
  });

  app.post("/desk/reports/:id/upstreams/:upstreamId/delete", routeOptions(upstreamParams), async (request, reply) => {
    const { upstreamId } = request.params as z.infer<typeof upstreamParams>;
    return act(request, reply, `upstream-${upstreamId}`, async (id, member) => {
      await removeUpstream(db, clock, actorOf(member), id, upstreamId);
      return "upstream-removed";
    });
  });
}
