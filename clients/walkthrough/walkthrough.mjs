// A new patient's first day and the clinic's live screens, written as a
// frontend would write them: graphql-request for queries and mutations,
// graphql-ws for subscriptions. server/walkthrough_client_test.go runs it
// against a test server and judges the JSON it prints; run by hand against
// `make run` with the variables below set to demo logins.
//
//   1. The front desk (RECEPTION) logs in, registers the patient's record
//      with an insurance coverage, and opens its live schedule:
//      appointmentChanged for the practitioner.
//   2. The billing desk (BILLING) logs in and opens its live claims screen:
//      claimUpdated for every claim.
//   3. A new patient signs up, logs in and sees `me`: a PATIENT with no
//      record yet. They claim their record with the MRN reception gave them
//      and their birth date; `me.patient` is now their record.
//   4. The patient books an appointment; the front desk hears of it live.
//   5. The patient is also seen the same day as a walk-in: the front desk
//      books the visit, the practitioner records its findings (the minimum
//      data set NPHIES asks every claim for) and the desk completes it.
//      Billing invoices the visit and claims it from the insurer, naming the
//      visit; the billing desk hears of the claim live.
//   6. The patient sees their own appointments and invoice, and nobody
//      else's.
//
// Environment: HG_URL (the server's http:// base), HG_PASSWORD (of the
// staff logins), HG_RECEPTION_EMAIL, HG_BILLING_EMAIL,
// HG_PRACTITIONER_EMAIL and HG_PRACTITIONER_ID (the login and global ID of
// the practitioner the patient is seen by) and HG_ITEM_ID (the global ID of
// the catalogue item billing invoices).
import { GraphQLClient, ClientError, gql } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`walkthrough: ${name} is not set`);
  return v;
};
const base = env('HG_URL');
const endpoint = `${base}/graphql`;
const practitionerId = env('HG_PRACTITIONER_ID');
const itemId = env('HG_ITEM_ID');

// Refuse to hang: the Go test reports what was not seen.
setTimeout(() => {
  console.error('walkthrough: gave up after 90s');
  process.exit(2);
}, 90_000).unref();

// The code of a GraphQL error, as a screen would branch on it.
const codeOf = (err) => (err instanceof ClientError ? err.response.errors?.[0]?.extensions?.code ?? 'HTTP' : 'NETWORK');

const LOGIN = gql`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) { accessToken user { role } }
  }
`;

// session logs in and returns a client that sends the access token.
async function session(email, password) {
  const anonymous = new GraphQLClient(endpoint);
  const { login } = await anonymous.request(LOGIN, { email, password });
  return {
    role: login.user.role,
    token: login.accessToken,
    client: new GraphQLClient(endpoint, { headers: { Authorization: `Bearer ${login.accessToken}` } }),
  };
}

// live opens a graphql-ws subscription and returns a function that waits
// for the first event matching want. The token goes in connection_init, as
// docs/security.md tells frontends.
function live(token, query, variables) {
  const client = createClient({
    url: endpoint.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const seen = [];
  const waiters = [];
  const failed = [];
  const unsubscribe = client.subscribe({ query, variables }, {
    next: (event) => {
      seen.push(event);
      for (const w of waiters.splice(0)) w();
    },
    error: (err) => {
      failed.push(String(err?.message ?? err?.reason ?? err));
      for (const w of waiters.splice(0)) w();
    },
    complete: () => {},
  });
  return {
    seen,
    // next resolves with the first event that satisfies want, or null once
    // ms pass without one.
    async next(want, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = seen.find(want);
        if (hit) return hit;
        if (failed.length) throw new Error(`subscription failed: ${failed.join('; ')}`);
        const left = deadline - Date.now();
        if (left <= 0) return null;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => { clearTimeout(timer); resolve(); });
        });
      }
    },
    close() {
      unsubscribe();
      return client.dispose();
    },
  };
}

const out = {};

// 1. The front desk: the patient's record, their insurance, a live schedule.
const reception = await session(env('HG_RECEPTION_EMAIL'), env('HG_PASSWORD'));
const birthDate = '1991-04-17';
// A national ID of its own on every run, so the script also runs against a
// server that already has patients (`make run`'s demo clinic).
const nationalId = () => '1' + String(Math.floor(Math.random() * 1e9)).padStart(9, '0');
const { createPatient: record } = await reception.client.request(gql`
  mutation Register($in: CreatePatientInput!) { createPatient(input: $in) { id mrn } }
`, { in: { nationalId: nationalId(), firstName: 'Noura', familyName: 'Alshehri', birthDate, gender: 'FEMALE' } });
const { addCoverage: coverage } = await reception.client.request(gql`
  mutation Insure($in: AddCoverageInput!) { addCoverage(input: $in) { id active } }
`, { in: { patientId: record.id, payerLicense: '7001463160', payerName: 'Bupa Arabia', memberId: 'M-4471', memberIdSystem: 'http://bupa.com.sa/memberid',
  policyNumber: 'POL-2026', class: 'GOLD', startsOn: '2026-01-01', endsOn: '2027-12-31' } });
out.reception = { role: reception.role, recordHasMRN: record.mrn !== '', coverageActive: coverage.active };
const schedule = live(reception.token, `subscription Schedule($practitionerId: ID!) {
  appointmentChanged(practitionerId: $practitionerId) { gap appointment { id status patient { id } startsAt } }
}`, { practitionerId });

// 2. The billing desk's live claims screen.
const billing = await session(env('HG_BILLING_EMAIL'), env('HG_PASSWORD'));
const claims = live(billing.token, `subscription Claims {
  claimUpdated { gap claim { id status invoice { id } patient { id } } }
}`, {});
out.billing = { role: billing.role };

// 3. A new patient signs up, logs in, sees who they are, claims their record.
const email = `noura.${Date.now()}@example.test`;
const password = 'first-visit-2026';
const anonymous = new GraphQLClient(endpoint);
const { signup } = await anonymous.request(gql`
  mutation Signup($in: SignupInput!) { signup(input: $in) { id email role } }
`, { in: { email, password, fullName: 'Noura Alshehri' } });
const patient = await session(email, password);
const ME = gql`{ me { id email role patient { id mrn firstName } practitioner { id } } }`;
const before = (await patient.client.request(ME)).me;
out.signup = { role: signup.role, sameUser: before.id === signup.id, meRole: before.role, mePatient: before.patient };

let wrong;
try {
  await patient.client.request(gql`
    mutation Claim($in: ClaimPatientRecordInput!) { claimPatientRecord(input: $in) { id } }
  `, { in: { mrn: record.mrn, birthDate: '1991-04-18' } });
} catch (err) {
  wrong = codeOf(err);
}
const { claimPatientRecord: claimed } = await patient.client.request(gql`
  mutation Claim($in: ClaimPatientRecordInput!) { claimPatientRecord(input: $in) { id mrn } }
`, { in: { mrn: record.mrn, birthDate } });
const after = (await patient.client.request(ME)).me;
out.claim = { wrongBirthDate: wrong, claimedTheRecord: claimed.id === record.id, mePatientIsTheRecord: after.patient?.id === record.id,
  mePractitioner: after.practitioner };

// 4. The patient books; the front desk hears of it. graphql-ws does not say
// when the server has started a subscription, so a booking made in the
// first instants could pass unseen: the patient then moves the appointment
// an hour, which is a change of the same appointment, until it is heard.
// Three days from now, 09:00 in Riyadh.
const day = new Date(Date.now() + 3 * 86_400_000);
let startsAt = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 6, 0, 0));
const plusMinutes = (d, m) => new Date(d.getTime() + m * 60_000);
const { bookAppointment: appt } = await patient.client.request(gql`
  mutation BookAhead($in: BookAppointmentInput!) { bookAppointment(input: $in) { id status } }
`, { in: { patientId: record.id, practitionerId, startsAt: startsAt.toISOString(), endsAt: plusMinutes(startsAt, 30).toISOString(),
  reason: 'First visit' } });
let heard = null;
let moves = 0;
while (!(heard = await schedule.next((e) => e.data?.appointmentChanged?.appointment?.id === appt.id, 3000)) && moves < 5) {
  moves++;
  startsAt = plusMinutes(startsAt, 60);
  await patient.client.request(gql`
    mutation Move($id: ID!, $startsAt: Time!, $endsAt: Time!) { rescheduleAppointment(id: $id, startsAt: $startsAt, endsAt: $endsAt) { id } }
  `, { id: appt.id, startsAt: startsAt.toISOString(), endsAt: plusMinutes(startsAt, 30).toISOString() });
}
const change = heard?.data?.appointmentChanged;
out.appointmentChanged = { heard: Boolean(heard), moves, status: change?.appointment?.status, patientIsTheRecord: change?.appointment?.patient?.id === record.id };

// 5. The walk-in visit, a minute from now: booked by the front desk, its
// findings recorded by the practitioner, completed by the desk.
const BOOK = gql`mutation Book($in: BookAppointmentInput!) { bookAppointment(input: $in) { id status } }`;
const STATUS = gql`mutation Status($id: ID!, $status: AppointmentStatus!) { updateAppointmentStatus(id: $id, status: $status) { status } }`;
const doctor = await session(env('HG_PRACTITIONER_EMAIL'), env('HG_PASSWORD'));
const walkIn = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
const { bookAppointment: visit } = await reception.client.request(BOOK, { in: { patientId: record.id, practitionerId,
  startsAt: walkIn.toISOString(), endsAt: plusMinutes(walkIn, 30).toISOString(), reason: 'Walk-in: sore throat' } });
await doctor.client.request(gql`
  mutation Findings($in: RecordVisitFindingsInput!) { recordVisitFindings(input: $in) { version } }
`, { in: { appointmentId: visit.id, chiefComplaintCode: 'J06.9', chiefComplaint: 'Sore throat for two days',
  patientHistory: 'No systemic disease', presentIllness: 'Sore throat and mild fever since yesterday',
  physicalExamination: 'Inflamed pharynx, no exudate', treatmentPlan: 'Analgesics and fluids, review if worse',
  investigation: 'NOT_PERFORMED', vitals: { systolicMmHg: 118, diastolicMmHg: 76, heightCm: 163, weightKg: 61.5,
    pulsePerMinute: 84, respiratoryRatePerMinute: 16, temperatureCelsius: 37.9, oxygenSaturationPct: 98 } } });
for (const status of ['CHECKED_IN', 'COMPLETED']) {
  await reception.client.request(STATUS, { id: visit.id, status });
}

// Billing invoices the visit and claims it; the billing desk hears of it.
// As above, a claim submitted before the subscription started could pass
// unseen; then another invoice of the visit is claimed, until one is heard.
const invoiceIds = [];
let claimHeard = null;
let claimAttempts = 0;
while (!claimHeard && claimAttempts < 5) {
  claimAttempts++;
  const { createInvoice: inv } = await billing.client.request(gql`
    mutation Invoice($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }
  `, { in: { patientId: record.id, coverageId: coverage.id,
    lines: [{ itemId, quantity: 1 }] } });
  await billing.client.request(gql`mutation Issue($id: ID!) { issueInvoice(id: $id) { status } }`, { id: inv.id });
  invoiceIds.push(inv.id);
  const { submitClaim: claim } = await billing.client.request(gql`
    mutation Submit($in: SubmitClaimInput!) { submitClaim(input: $in) { id status } }
  `, { in: { invoiceId: inv.id, practitionerId, appointmentId: visit.id, diagnoses: ['J06.9'] } });
  claimHeard = await claims.next((e) => e.data?.claimUpdated?.claim?.id === claim.id, 3000);
}
const claimChange = claimHeard?.data?.claimUpdated;
out.claimUpdated = { heard: Boolean(claimHeard), attempts: claimAttempts, status: claimChange?.claim?.status,
  invoiceIsOurs: invoiceIds.includes(claimChange?.claim?.invoice?.id), patientIsTheRecord: claimChange?.claim?.patient?.id === record.id };

// 6. The patient's own screens.
const mine = await patient.client.request(gql`{
  appointments(first: 50) { totalCount edges { node { id status patient { id } } } }
  invoices(first: 50) { totalCount edges { node { id status total { amount } patient { id } } } }
  me { patient { upcomingAppointments { id } } }
}`);
const appts = mine.appointments.edges.map((e) => e.node);
const invs = mine.invoices.edges.map((e) => e.node);
out.patientSees = {
  appointments: mine.appointments.totalCount,
  theBookedOne: appts.some((a) => a.id === appt.id),
  upcoming: mine.me.patient.upcomingAppointments.length,
  invoices: mine.invoices.totalCount,
  invoicedVisits: invoiceIds.length,
  everyInvoiceIssuedToThem: invs.length === invoiceIds.length && invs.every((i) => invoiceIds.includes(i.id) && i.patient.id === record.id),
  invoiceTotal: invs[0]?.total?.amount,
  onlyTheirOwn: [...appts, ...invs].every((n) => n.patient.id === record.id),
};

await Promise.all([schedule.close(), claims.close()]);
console.log(JSON.stringify(out));
