/**
 * Where a team member opens a report: its page on the desk. Mail and webhook posts link
 * here, never to the API, which a signed-in browser gets only as a 401.
 */
export function teamReportLink(baseUrl: string, reportId: number): string {
  return `${baseUrl}/desk/reports/${reportId}`;
}
