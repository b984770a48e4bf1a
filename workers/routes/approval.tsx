import { Hono, type Context } from "hono";
import { csrf } from "hono/csrf";
import { bodyCap } from "./body-limit";
import { z } from "zod";
import type { FinalStatus } from "../../core/codes";
import { activateByLink, chooseApproverByLink, decideByLink, viewByLink } from "../domain/link-session";
import type { ApproverPendingView, ChooseApproverView, SessionView } from "../objects/auth-session/contract";
import { htmlPage, validate } from "./validate";
import { ApprovalPage, ApproverRequestPage, ChooseApproverPage, MessagePage } from "../pages/approval";

/**
 * The page behind the SMS link. GET only renders (link scanners prefetch links); the answer
 * is a POST carrying the session's CSRF token, from our own origin (hono/csrf checks Origin
 * and Sec-Fetch-Site).
 */
export const approval = new Hono<{ Bindings: Env }>();

// Link pages take small forms only (a 4 KB cap, below the app-wide one).
approval.use(bodyCap(4 * 1024));
approval.use(csrf());

const FINISHED: Record<FinalStatus, { http: 410; title: string; text: string }> = {
  accepted: { http: 410, title: "Link already used", text: "This sign-in request has already been answered." },
  rejected: { http: 410, title: "Link already used", text: "This sign-in request has already been answered." },
  expired: { http: 410, title: "Link expired", text: "This sign-in request has expired. Start the sign-in again to get a new link." },
  failed_delivery: { http: 410, title: "Link expired", text: "This sign-in request is no longer valid." },
  no_approver_selected: { http: 410, title: "Link expired", text: "No approver was chosen in time. Start the sign-in again." },
  invalid_approver: { http: 410, title: "Sign-in stopped", text: "The approver could not be asked. Start the sign-in again." },
};

const finishedPage = (c: Context, status: FinalStatus) => {
  const f = FINISHED[status];
  return c.html(<MessagePage title={f.title} text={f.text} />, f.http);
};

/** Assisted Login pages of the user's link once they accepted. */
function assistedPage(c: Context, path: string, view: ChooseApproverView | ApproverPendingView) {
  if (view.kind === "choose_approver") {
    return c.html(<ChooseApproverPage title={view.title} csrf={view.csrf} action={`${path}/approver`} approvers={view.approvers} />);
  }
  return c.html(
    <MessagePage title={view.title} text={`Waiting for ${view.approverName} to approve the sign-in. You can close this page.`} />,
  );
}

function pendingPage(c: Context, path: string, view: Exclude<SessionView, { kind: "finished" | "not_found" }>) {
  switch (view.kind) {
    case "choose_approver":
    case "approver_pending":
      return assistedPage(c, path, view);
    case "approver":
      return c.html(
        <ApproverRequestPage
          title={view.title}
          text={view.text}
          buttonAccept={view.buttonAccept}
          buttonReject={view.buttonReject}
          csrf={view.csrf}
          action={path}
          acceptInApp={view.acceptInApp}
        />,
      );
    case "pending":
      return c.html(
        <ApprovalPage
          texts={view.texts}
          csrf={view.csrf}
          action={path}
          match={view.match}
          activateAction={view.activation ? `${path}/activate` : null}
        />,
      );
  }
}

const notFound = (c: Context) => c.html(<MessagePage title="Link not valid" text="This link is not valid or has expired." />, 404);

approval.get("/:token", async (c) => {
  const view = await viewByLink(c.env, c.req.param("token"));
  if (view.kind === "not_found") return notFound(c);
  if (view.kind === "finished") return finishedPage(c, view.status);
  return pendingPage(c, c.req.path, view);
});

/** A form posted from one of our link pages; anything malformed gets a plain 400 page. */
const linkForm = <T extends z.ZodType>(schema: T) =>
  validate("form", schema, htmlPage(400, "Bad request", "The form was incomplete. Open the link again."));

/** Wrong CSRF token: the answer did not come from the page we served. */
const refused = (c: Context) => c.html(<MessagePage title="Request refused" text="Open the link again and answer from that page." />, 403);

/** A link-page POST that did not count: unknown link, refused form, or the session is over. */
function unansweredPage(c: Context, outcome: { kind: "not_found" } | { kind: "forbidden" } | { kind: "finished"; status: FinalStatus }) {
  if (outcome.kind === "not_found") return notFound(c);
  if (outcome.kind === "forbidden") return refused(c);
  return finishedPage(c, outcome.status);
}

/** Assisted Login: the user's pick of an approver (an opaque id, checked by the session). */
approval.post(
  "/:token/approver",
  linkForm(z.object({ csrf: z.string().min(1).max(100), approver: z.string().min(1).max(100) })),
  async (c) => {
    const form = c.req.valid("form");
    const outcome = await chooseApproverByLink(c.env, c.req.param("token"), form.csrf, form.approver);
    switch (outcome.kind) {
      case "not_found":
      case "forbidden":
      case "finished":
        return unansweredPage(c, outcome);
      case "approver_pending":
        return assistedPage(c, c.req.path.replace(/\/approver$/, ""), outcome);
      case "asked":
        return c.html(
          <MessagePage title={outcome.title} text={`We asked ${outcome.approverName} to approve the sign-in. You can close this page.`} />,
        );
    }
  },
);

/**
 * "Use the app instead": the holder of a live SMS link gets a one-time activation token and
 * is sent to the app with it in the URL fragment (never sent to a server, never in logs); a
 * separate one-time code goes to the number by SMS, and the app needs both.
 */
approval.post("/:token/activate", linkForm(z.object({ csrf: z.string().min(1).max(100) })), async (c) => {
  const grant = await activateByLink(c.env, c.req.param("token"), c.req.valid("form").csrf);
  if (grant.kind === "not_found") return notFound(c);
  if (grant.kind === "rate_limited") {
    return c.html(
      <MessagePage title="Too many activation codes" text="Too many activation codes were sent to this number. Try again later." />,
      429,
    );
  }
  if (grant.kind === "delivery_failed") {
    return c.html(
      <MessagePage title="Activation not possible" text="The activation code could not be sent by SMS. Try again later." />,
      502,
    );
  }
  if (grant.kind !== "granted") {
    return c.html(<MessagePage title="Activation not possible" text="Open the link from a new sign-in SMS and try again." />, 403);
  }
  const fragment = new URLSearchParams({ activate: grant.token, msisdn: grant.msisdn });
  return c.redirect(`/app/#${fragment}`, 303);
});

/** `pick`: the number tapped, when the page offers number matching (the session checks it). */
const DecisionForm = z.object({
  decision: z.enum(["accept", "reject"]),
  csrf: z.string().min(1).max(100),
  pick: z.coerce.number().int().min(10).max(99).optional(),
});

approval.post("/:token", linkForm(DecisionForm), async (c) => {
  const form = c.req.valid("form");
  const outcome = await decideByLink(c.env, c.req.param("token"), form.decision, form.csrf, form.pick);
  switch (outcome.kind) {
    case "not_found":
    case "forbidden":
    case "finished":
      return unansweredPage(c, outcome);
    case "choose_approver":
    case "approver_pending":
      return assistedPage(c, c.req.path, outcome);
    case "decided":
      return c.html(<MessagePage title={outcome.status === "accepted" ? "Approved" : "Rejected"} text={outcome.text} />);
  }
});
