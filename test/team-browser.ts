import { generate } from "otplib";
import type { Page } from "playwright-core";
import { addTeamMember, createApiToken, type Role } from "../src/modules/people/index.js";
import { systemClock, type Clock } from "../src/shared/clock.js";
import type { ServedShield } from "./browser.js";
import type { TestShield } from "./shield.js";
import { addEnrolledMember, type EnrolledMember } from "./sign-in.js";

/** A code for the next 30-second step of Shield's clock: accepted, and never the step the enrolment used. */
export function nextStepCode(secret: string, clock: Clock = systemClock): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + 30 });
}

/** A member of a served Shield who went through the invite and enrolled an authenticator. */
export async function addBrowserMember(served: ServedShield, role: Role): Promise<EnrolledMember> {
  // addEnrolledMember wants the test Shield's addMember; a served Shield gets the same here.
  const asTestShield = {
    ...served.shield,
    async addMember(r: Role, email = `${r}-${Math.random().toString(36).slice(2, 8)}@team.example.test`) {
      const member = await addTeamMember(served.shield.database.db, systemClock, { kind: "cli" }, { email, role: r, name: `${r[0]!.toUpperCase()}${r.slice(1)} Person` });
      const { token } = await createApiToken(served.shield.database.db, systemClock, { kind: "cli" }, email);
      return { member, token, auth: { authorization: `Bearer ${token}` } };
    },
  } as unknown as TestShield;
  return addEnrolledMember(asTestShield, systemClock, role);
}

/**
 * Signs the member in on the page as a person does: address, password, then the code.
 * A member signs in once per 30-second step (a code is accepted once). `clock`: Shield's,
 * when it is not the machine's (the authenticator's code follows Shield's time).
 */
export async function signInInBrowser(page: Page, baseUrl: string, who: EnrolledMember, landing = "/desk", clock: Clock = systemClock): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("E-mail address").fill(who.member.email);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(`${baseUrl}/login/second-factor`);
  await page.getByLabel("Authentication code").fill(await nextStepCode(who.secret, clock));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${baseUrl}${landing}`);
}
