-- Dictionary rows get a name per UI language (name_en, name_pl): a mixed team reads event
-- types, pipelines, stages, amount types, lost reasons and products in its own language. `name`
-- stays the row's name in the organisation's language and is what a language without its own
-- name falls back to (crm_data.dictionaries.name_sql). An existing row's name becomes its name
-- in the organisation's language; the starter rows (crm_data/setup.py) get the other language's
-- starter name too, so a team set up in one language reads the other at once.

ALTER TABLE event_types ADD COLUMN name_en VARCHAR;
ALTER TABLE event_types ADD COLUMN name_pl VARCHAR;
UPDATE event_types SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE event_types SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';
ALTER TABLE pipelines ADD COLUMN name_en VARCHAR;
ALTER TABLE pipelines ADD COLUMN name_pl VARCHAR;
UPDATE pipelines SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE pipelines SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';
ALTER TABLE stages ADD COLUMN name_en VARCHAR;
ALTER TABLE stages ADD COLUMN name_pl VARCHAR;
UPDATE stages SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE stages SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';
ALTER TABLE amount_types ADD COLUMN name_en VARCHAR;
ALTER TABLE amount_types ADD COLUMN name_pl VARCHAR;
UPDATE amount_types SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE amount_types SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';
ALTER TABLE lost_reasons ADD COLUMN name_en VARCHAR;
ALTER TABLE lost_reasons ADD COLUMN name_pl VARCHAR;
UPDATE lost_reasons SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE lost_reasons SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';
ALTER TABLE products ADD COLUMN name_en VARCHAR;
ALTER TABLE products ADD COLUMN name_pl VARCHAR;
UPDATE products SET name_pl = name
WHERE (SELECT value FROM settings WHERE key = 'default_language') = '"pl"';
UPDATE products SET name_en = name
WHERE coalesce((SELECT value FROM settings WHERE key = 'default_language'), '"en"') <> '"pl"';

UPDATE event_types SET name_en = m.en
FROM (VALUES
    ('Call', 'Telefon'),
    ('Meeting', 'Spotkanie'),
    ('E-mail', 'E-mail'),
    ('Offer sent', 'Wysłana oferta'),
    ('Note', 'Notatka'),
    ('Visit', 'Wizyta'),
    ('Video call', 'Wideorozmowa')
) AS m (en, pl)
WHERE event_types.name_pl = m.pl AND event_types.name_en IS NULL;
UPDATE event_types SET name_pl = m.pl
FROM (VALUES
    ('Call', 'Telefon'),
    ('Meeting', 'Spotkanie'),
    ('E-mail', 'E-mail'),
    ('Offer sent', 'Wysłana oferta'),
    ('Note', 'Notatka'),
    ('Visit', 'Wizyta'),
    ('Video call', 'Wideorozmowa')
) AS m (en, pl)
WHERE event_types.name_en = m.en AND event_types.name_pl IS NULL;
UPDATE pipelines SET name_en = m.en
FROM (VALUES
    ('Sales', 'Sprzedaż')
) AS m (en, pl)
WHERE pipelines.name_pl = m.pl AND pipelines.name_en IS NULL;
UPDATE pipelines SET name_pl = m.pl
FROM (VALUES
    ('Sales', 'Sprzedaż')
) AS m (en, pl)
WHERE pipelines.name_en = m.en AND pipelines.name_pl IS NULL;
UPDATE stages SET name_en = m.en
FROM (VALUES
    ('Lead', 'Kontakt'),
    ('Qualified', 'Kwalifikacja'),
    ('Proposal', 'Oferta'),
    ('Negotiation', 'Negocjacje'),
    ('Won', 'Wygrana'),
    ('Lost', 'Przegrana')
) AS m (en, pl)
WHERE stages.name_pl = m.pl AND stages.name_en IS NULL;
UPDATE stages SET name_pl = m.pl
FROM (VALUES
    ('Lead', 'Kontakt'),
    ('Qualified', 'Kwalifikacja'),
    ('Proposal', 'Oferta'),
    ('Negotiation', 'Negocjacje'),
    ('Won', 'Wygrana'),
    ('Lost', 'Przegrana')
) AS m (en, pl)
WHERE stages.name_en = m.en AND stages.name_pl IS NULL;
UPDATE amount_types SET name_en = m.en
FROM (VALUES
    ('Offer value', 'Wartość oferty'),
    ('Invoice', 'Faktura'),
    ('Cost', 'Koszt'),
    ('Discount', 'Rabat'),
    ('Deposit', 'Zaliczka')
) AS m (en, pl)
WHERE amount_types.name_pl = m.pl AND amount_types.name_en IS NULL;
UPDATE amount_types SET name_pl = m.pl
FROM (VALUES
    ('Offer value', 'Wartość oferty'),
    ('Invoice', 'Faktura'),
    ('Cost', 'Koszt'),
    ('Discount', 'Rabat'),
    ('Deposit', 'Zaliczka')
) AS m (en, pl)
WHERE amount_types.name_en = m.en AND amount_types.name_pl IS NULL;
UPDATE lost_reasons SET name_en = m.en
FROM (VALUES
    ('Price too high', 'Za wysoka cena'),
    ('Chose a competitor', 'Wybrał konkurencję'),
    ('No budget', 'Brak budżetu'),
    ('No response', 'Brak odpowiedzi'),
    ('Bad timing', 'Zły moment')
) AS m (en, pl)
WHERE lost_reasons.name_pl = m.pl AND lost_reasons.name_en IS NULL;
UPDATE lost_reasons SET name_pl = m.pl
FROM (VALUES
    ('Price too high', 'Za wysoka cena'),
    ('Chose a competitor', 'Wybrał konkurencję'),
    ('No budget', 'Brak budżetu'),
    ('No response', 'Brak odpowiedzi'),
    ('Bad timing', 'Zły moment')
) AS m (en, pl)
WHERE lost_reasons.name_en = m.en AND lost_reasons.name_pl IS NULL;
