-- The closed-loop dataset (#15), generated in SQL into a database the app has migrated (bench/closedloop.sh).
-- psql variables: leads (1000000), per (activities per lead, 10), campaigns (500). Twelve months ending today, deterministic
-- (hashes of the row number, no random()), ids time-ordered like the app's UUID v7 so indexes fill in order.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';

-- A stable pseudo-random integer in [0, m) for row n and salt s.
CREATE OR REPLACE FUNCTION bench_h(n bigint, s int, m int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (abs(hashint8(n * 1000003 + s)) % m)::int $$;
-- An id for row n of table tag: time-ordered (row number first), unique per table.
CREATE OR REPLACE FUNCTION bench_id(tag int, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (lpad(to_hex(n), 8, '0') || '-' || lpad(to_hex(tag), 4, '0') || '-7000-8000-000000000000')::uuid $$;

CREATE TEMP TABLE bench_anchor AS SELECT date_trunc('day', now()) AS today, date_trunc('day', now()) - interval '365 days' AS t0;
CREATE TEMP TABLE bench_channels (ck int PRIMARY KEY, channel text, source text);
INSERT INTO bench_channels VALUES (0,'OrganicSearch','google'),(1,'PaidSearch','google'),(2,'OrganicSocial','linkedin'),(3,'PaidSocial','linkedin'),
  (4,'Email','newsletter'),(5,'Events','salon-daf'),(6,'Referral','partner-blog'),(7,'Direct',NULL),(8,'Partner','cabinet-expert'),(9,'Other','podcast');

-- A sales user who rates leads and owns deals.
INSERT INTO "AspNetUsers" ("Id","DisplayName","IsActive","TimeZone","CreatedAt","UserName","NormalizedUserName","Email","NormalizedEmail","EmailConfirmed",
  "PhoneNumberConfirmed","TwoFactorEnabled","LockoutEnabled","AccessFailedCount","SecurityStamp","ConcurrencyStamp")
SELECT bench_id(1, g), 'Rep ' || g, true, 'Europe/Paris', now(), 'rep' || g || '@bench.example', upper('rep' || g || '@bench.example'),
  'rep' || g || '@bench.example', upper('rep' || g || '@bench.example'), true, false, false, false, 0, md5('s' || g), md5('c' || g)
FROM generate_series(1, 10) g;

-- Campaigns: 500 over the ten channels, 80 % in EUR, 15 % USD, 5 % GBP; monthly spend for 12 months.
INSERT INTO "Campaigns" ("Id","Name","Channel","Status","StartsOn","EndsOn","Budget","Currency","UtmCampaign","CreatedAt")
SELECT bench_id(2, c), 'Campaign ' || c, ch.channel, 'Active', (a.t0)::date, NULL, 50000,
  CASE WHEN bench_h(c, 1, 100) < 80 THEN 'EUR' WHEN bench_h(c, 1, 100) < 95 THEN 'USD' ELSE 'GBP' END, 'camp-' || c, a.t0
FROM generate_series(1, :campaigns) c CROSS JOIN bench_anchor a JOIN bench_channels ch ON ch.ck = c % 10;
INSERT INTO "CampaignSpend" ("Id","CampaignId","On","Amount","Note")
SELECT bench_id(3, c * 100 + m), bench_id(2, c), (a.t0 + (m || ' months')::interval)::date + 14, 200 + bench_h(c * 100 + m, 2, 3000), NULL
FROM generate_series(1, :campaigns) c, generate_series(0, 11) m, bench_anchor a;

-- Exchange rates: USD and GBP to EUR, every day of the 13 months.
INSERT INTO "ExchangeRates" ("Id","FromCurrency","ToCurrency","On","Rate","CreatedAt")
SELECT bench_id(4, d * 10 + x), cur, 'EUR', (a.t0 - interval '31 days' + (d || ' days')::interval)::date,
  CASE cur WHEN 'USD' THEN 0.90 + (d % 20) / 1000.0 ELSE 1.15 + (d % 30) / 1000.0 END, now()
FROM generate_series(0, 400) d, (VALUES (1, 'USD'), (2, 'GBP')) v(x, cur), bench_anchor a;

-- Sales costs per month (EUR), a quarterly goal per quarter, the reporting settings.
INSERT INTO "SalesCosts" ("Id","Month","Amount","Currency","Note")
SELECT bench_id(5, m), (date_trunc('month', a.t0) + (m || ' months')::interval)::date, 60000 + m * 1000, 'EUR', NULL FROM generate_series(0, 12) m, bench_anchor a;
INSERT INTO "RevenueGoals" ("Id","Period","StartsOn","Amount","Currency","Segment","CommittedMqls","CreatedAt","UpdatedAt")
SELECT bench_id(6, q), 'Quarter', (date_trunc('quarter', a.today) - (q * 3 || ' months')::interval)::date, 6000000, 'EUR', NULL, 75000, now(), now()
FROM generate_series(0, 4) q, bench_anchor a;
INSERT INTO "RevenueSettings" ("Id","ReportingCurrency","TimeZone","GrossMarginPercent","WeeklyReportDay","WeeklyReportHour","WeeklyReportEnabled")
VALUES (1, 'EUR', 'Europe/Paris', 75, 'Monday', 8, false) ON CONFLICT ("Id") DO NOTHING;

-- The funnel of each lead, staged once: created uniformly over the year; 30 % become MQL, 12 % SQL (accepted), 4 % rejected,
-- 5 % get an opportunity (a deal); deals are won 30 %, lost 40 %, open otherwise (or when their close would be in the future).
CREATE TEMP TABLE bench_l AS
SELECT i, bench_id(10, i) AS id, 1 + bench_h(i, 3, :campaigns) AS c, bench_h(i, 4, 1000) AS h, bench_h(i, 5, 100) AS h2,
  a.t0 + ((i - 1) * 365.0 * 86400 / :leads || ' seconds')::interval AS created, a.today
FROM generate_series(1, :leads) i, bench_anchor a;
ALTER TABLE bench_l ADD COLUMN mql_at timestamptz, ADD COLUMN sql_at timestamptz, ADD COLUMN deal_at timestamptz, ADD COLUMN closed_at timestamptz,
  ADD COLUMN status text;
UPDATE bench_l SET mql_at = CASE WHEN h < 300 THEN created + ((1 + h % 10) || ' days')::interval END;
UPDATE bench_l SET sql_at = CASE WHEN h < 160 THEN mql_at + ((1 + h % 3) || ' days')::interval END;
UPDATE bench_l SET deal_at = CASE WHEN h < 50 THEN sql_at + interval '3 days' END;
UPDATE bench_l SET closed_at = deal_at + ((20 + h2 % 70) || ' days')::interval WHERE deal_at IS NOT NULL AND h2 < 70;
UPDATE bench_l SET status = CASE WHEN closed_at IS NULL OR closed_at > now() THEN 'Open' WHEN h2 < 30 THEN 'Won' ELSE 'Lost' END WHERE deal_at IS NOT NULL;
UPDATE bench_l SET closed_at = NULL WHERE status = 'Open';
-- Future steps did not happen yet.
UPDATE bench_l SET mql_at = NULL, sql_at = NULL, deal_at = NULL, status = NULL WHERE mql_at > now();
UPDATE bench_l SET sql_at = NULL, deal_at = NULL, status = NULL WHERE sql_at > now();
UPDATE bench_l SET deal_at = NULL, status = NULL WHERE deal_at > now();
ANALYZE bench_l;

-- Accounts: one per deal; the won ones are customers (subscriptions in the deal's currency), 1 in 8 churned since.
INSERT INTO "Accounts" ("Id","Name","Domain","Country","CreatedAt","CustomerSince","ChurnedAt","ChurnReason","Mrr","ContractValue","ContractCurrency","ContractStartsOn","RenewalOn")
SELECT bench_id(11, i), 'Firm ' || i, 'firm' || i || '.example', 'FR', deal_at,
  CASE WHEN status = 'Won' THEN closed_at END,
  CASE WHEN status = 'Won' AND h2 % 8 = 0 AND closed_at + interval '60 days' < now() THEN closed_at + interval '60 days' END,
  CASE WHEN status = 'Won' AND h2 % 8 = 0 AND closed_at + interval '60 days' < now() THEN 'Price' END,
  CASE WHEN status = 'Won' THEN 300 + h2 * 10 END, CASE WHEN status = 'Won' THEN (300 + h2 * 10) * 12 END,
  CASE WHEN status = 'Won' THEN CASE WHEN h2 % 10 < 7 THEN 'EUR' WHEN h2 % 10 < 9 THEN 'USD' ELSE 'GBP' END END,
  CASE WHEN status = 'Won' THEN closed_at::date END, CASE WHEN status = 'Won' THEN (closed_at + interval '1 year')::date END
FROM bench_l WHERE deal_at IS NOT NULL;

-- Leads.
INSERT INTO "Leads" ("Id","Email","FirstName","LastName","JobTitle","Company","CompanySize","Country","Language","AccountId","OwnerId","DoNotEmail","DoNotCall",
  "ManualFields","Stage","WorkStatus","StageChangedAt","FitScore","EngagementScore","FirstChannel","FirstSource","FirstMedium","FirstCampaignId","FirstTouchAt",
  "LatestChannel","LatestSource","LatestCampaignId","LatestTouchAt","CreatedAt","UpdatedAt")
SELECT l.id, 'p' || l.i || '@firm' || (l.i % 50000) || '.example', 'First' || l.i, 'Last' || l.i,
  (ARRAY['CFO','Directeur financier','Operations manager','Engineer','Head of finance','DAF','Accountant'])[1 + l.i % 7], 'Firm ' || (l.i % 50000),
  5 + l.h2 * 20, 'FR', 'fr', CASE WHEN l.deal_at IS NOT NULL THEN bench_id(11, l.i) END,
  CASE WHEN l.sql_at IS NOT NULL THEN bench_id(1, 1 + l.i % 10) END, false, false, '{}',
  CASE WHEN l.status = 'Won' THEN 'Customer' WHEN l.deal_at IS NOT NULL THEN 'Opportunity' WHEN l.sql_at IS NOT NULL AND l.h < 120 THEN 'Sql'
       WHEN l.sql_at IS NOT NULL THEN 'Recycled' WHEN l.mql_at IS NOT NULL THEN 'Mql' ELSE 'Lead' END, 'None',
  coalesce(l.closed_at, l.deal_at, l.sql_at, l.mql_at, l.created), l.h2, l.h % 100,
  ch.channel, ch.source, 'cpc', bench_id(2, l.c), l.created - interval '2 days', ch.channel, ch.source, bench_id(2, l.c), l.created, l.created, l.created
FROM bench_l l JOIN bench_channels ch ON ch.ck = l.c % 10;

-- Lifecycle transitions: Lead at creation, then MQL, then the verdict (accepted → SQL, rejected → Recycled), Opportunity, Customer.
INSERT INTO "StageTransitions" ("Id","LeadId","From","To","At","ByUserId","ByRule","Reason")
SELECT bench_id(20 + s.k, l.i), l.id, s.f, s.t, s.at, NULL, s.rule, NULL
FROM bench_l l CROSS JOIN LATERAL (VALUES
    (0, NULL, 'Lead', l.created, 'capture'),
    (1, 'Lead', 'Mql', l.mql_at, 'rule:mql'),
    (2, 'Mql', CASE WHEN l.h < 120 THEN 'Sql' ELSE 'Recycled' END, l.sql_at, CASE WHEN l.h < 120 THEN 'manual:accept' ELSE 'handoff:reject:NoBudget' END),
    (3, 'Sql', 'Opportunity', l.deal_at, 'deal:created'),
    (4, 'Opportunity', 'Customer', CASE WHEN l.status = 'Won' THEN l.closed_at END, 'deal:won')) s(k, f, t, at, rule)
WHERE s.at IS NOT NULL;

-- Deals (opportunities) in three currencies, with their stage changes.
INSERT INTO "Deals" ("Id","Name","LeadId","AccountId","OwnerId","Amount","Currency","Status","CreatedAt","ClosedAt","ExpectedCloseOn","Kind","LossReason","WinReason",
  "Mrr","Probability","Source","Stage","StageChangedAt","UpdatedAt")
SELECT bench_id(30, i), 'Deal ' || i, id, bench_id(11, i), bench_id(1, 1 + i % 10), (300 + h2 * 10) * 12,
  CASE WHEN h2 % 10 < 7 THEN 'EUR' WHEN h2 % 10 < 9 THEN 'USD' ELSE 'GBP' END, status, deal_at, closed_at,
  (deal_at + interval '60 days')::date, 'NewBusiness', CASE WHEN status = 'Lost' THEN 'Price' END, CASE WHEN status = 'Won' THEN 'ProductFit' END,
  300 + h2 * 10, NULL, 'bench', CASE status WHEN 'Won' THEN 'Won' WHEN 'Lost' THEN 'Lost' ELSE (ARRAY['Qualification','NeedsAnalysis','Proposal','Negotiation'])[1 + h2 % 4] END,
  coalesce(closed_at, deal_at), coalesce(closed_at, deal_at)
FROM bench_l WHERE deal_at IS NOT NULL;
INSERT INTO "DealStageChanges" ("Id","DealId","From","To","At","ByUserId","Note")
SELECT bench_id(31, l.i * 4 + s.k), bench_id(30, l.i), s.f, s.t, s.at, NULL, NULL
FROM bench_l l CROSS JOIN LATERAL (VALUES
    (0, NULL, 'Qualification', l.deal_at),
    (1, 'Qualification', 'Proposal', l.deal_at + interval '7 days'),
    (2, 'Proposal', CASE l.status WHEN 'Won' THEN 'Won' ELSE 'Lost' END, l.closed_at)) s(k, f, t, at)
WHERE l.deal_at IS NOT NULL AND s.at IS NOT NULL AND s.at <= now();

-- Ratings by sales of 1 in 10 SQLs.
INSERT INTO "LeadRating" ("Id","LeadId","ByUserId","ByName","LeadQuality","MeetingQuality","Comment","CampaignId","CreatedAt","UpdatedAt")
SELECT bench_id(40, i), id, bench_id(1, 1 + i % 10), 'Rep', 1 + h2 % 5, CASE WHEN h2 % 2 = 0 THEN 1 + h % 5 END, NULL, bench_id(2, c), sql_at + interval '1 day', sql_at + interval '1 day'
FROM bench_l WHERE sql_at IS NOT NULL AND i % 10 = 0 AND sql_at + interval '1 day' < now();

-- Activities: :per per lead. Three marketing touches before the lead was created, the capture form, then touches every few days
-- (marketing touches on varied campaigns; calls and sales emails once the lead is an MQL).
INSERT INTO "Activities" ("Id","LeadId","Type","OccurredAt","Channel","CampaignId","UtmSource","UtmMedium","UtmCampaign","UtmContent","Url","Source","CreatedAt")
SELECT bench_id(50 + k, l.i), l.id,
  CASE WHEN k = 4 THEN 'FormSubmission'
       WHEN k >= 8 AND l.mql_at IS NOT NULL THEN (ARRAY['Call','EmailSent','Meeting'])[1 + (l.i + k) % 3]
       ELSE (ARRAY['PageView','EmailOpen','EmailClick','Webinar','ContentDownload','PageView'])[1 + bench_h(l.i, k, 6)] END,
  least(now() - interval '1 minute', l.created + ((k - 4) * (2 + l.h2 % 9) || ' days')::interval + ((l.h % 600) || ' minutes')::interval * sign(k - 4)),
  CASE WHEN t.touch_c IS NULL THEN 'Direct' ELSE ch.channel END, bench_id(2, t.touch_c), ch.source, 'cpc', 'camp-' || t.touch_c,
  'content-' || bench_h(l.i, k + 20, 40), 'https://tandem.example/p/' || k, 'web', l.created
FROM bench_l l CROSS JOIN generate_series(1, :per) k
  CROSS JOIN LATERAL (SELECT CASE WHEN k = 4 THEN l.c WHEN bench_h(l.i, k + 40, 10) < 2 THEN NULL ELSE 1 + bench_h(l.i, k + 60, :campaigns) END AS touch_c) t
  LEFT JOIN bench_channels ch ON ch.ck = t.touch_c % 10;

DROP TABLE bench_l;
VACUUM ANALYZE;
