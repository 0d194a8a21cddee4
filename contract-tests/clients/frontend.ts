// A front end's use of the generated types (openapi-typescript) through openapi-fetch, as the
// README shows it. `make contract` generates ./portal.d.ts beside a copy of this file and
// compiles both with `tsc --strict --noEmit`; it is never run. Each `@ts-expect-error` line
// is a call the types must refuse: were a type loosened to `any`, tsc would fail on it.
import createClient from "openapi-fetch";
import type { components, paths } from "./portal";

type Schemas = components["schemas"];

const api = createClient<paths>({ baseUrl: "http://localhost:3000" });

export async function bookFirstFreeSlot(email: string, password: string): Promise<string> {
  const login = await api.POST("/api/auth/login", { body: { email, password } });
  if (login.error) {
    const code: Schemas["ErrorCode"] = login.error.error.code;
    throw new Error(`${code}: ${login.error.error.message}`);
  }
  const session: Schemas["Session"] = login.data;
  const headers = {
    Authorization: `Bearer ${session.accessToken}`,
    "X-CSRF-Token": session.csrfToken,
  };

  // Request fields with a default (page, limit, isVirtual) are optional, like the API takes them.
  await api.POST("/api/appointments/search-providers", { body: {}, headers });
  await api.POST("/api/appointments/search-providers", { headers });
  const found = await api.POST("/api/appointments/search-providers", {
    body: { specialty: "family_medicine", location: "Boston", page: 1, limit: 20 },
    headers,
  });
  if (!found.data) throw new Error("search failed");
  const provider: Schemas["Provider"] = found.data.data[0];
  // A nullable object is the named type or null, and must be checked before use.
  const location: Schemas["ProviderLocation"] | null = provider.location;
  const city: string = location ? location.city : "no location";

  const slots = await api.GET("/api/providers/{providerId}/available-slots", {
    params: { path: { providerId: provider.id }, query: { date: "2025-01-15" } },
    headers,
  });
  const time: string | undefined = slots.data?.slots[0];
  if (time === undefined) throw new Error(`no free slot (${city})`);

  const booked = await api.POST("/api/appointments", {
    body: {
      providerId: provider.id,
      date: "2025-01-15",
      time,
      type: "routine_checkup",
      reason: "Annual physical examination",
    },
    headers,
  });
  if (booked.error) {
    const details: Schemas["ErrorDetail"][] = booked.error.error.details ?? [];
    throw new Error(details.map((d) => `${d.field}: ${d.message}`).join("; "));
  }
  const status: Schemas["AppointmentStatus"] = booked.data.status;

  const records = await api.GET("/api/medical-records", { headers });
  const names: string[] = (records.data?.data ?? []).map((record) =>
    record.provider ? `${record.provider.firstName} ${record.provider.lastName}` : "none",
  );
  return `${booked.data.id} ${status} ${names.join(", ")}`;
}

export async function refusedCalls(headers: Record<string, string>): Promise<void> {
  await api.POST("/api/appointments", {
    // @ts-expect-error `reason` is required
    body: { providerId: "p", date: "2025-01-15", time: "10:00 AM", type: "routine_checkup" },
    headers,
  });
  await api.POST("/api/appointments/search-providers", {
    // @ts-expect-error not a specialty
    body: { specialty: "astrology" },
    headers,
  });
  const found = await api.POST("/api/appointments/search-providers", { body: {}, headers });
  if (found.data) {
    // @ts-expect-error location may be null
    const city: string = found.data.data[0].location.city;
    void city;
  }
}
