-- Probabilistic contact matching: the phonetic functions it compares names with, and the
-- decisions people take on the pairs it is unsure of (the grey zone between the review and
-- link weights). A decision always wins over the model, at every later build.
-- depends: 0001_schemas_and_extensions 0008_roles_and_grants

-- dmetaphone() and levenshtein() (a contrib module shipped with PostgreSQL)
create extension if not exists fuzzystrmatch;

create table crm.contact_match_reviews (
    -- int_contact_records_unioned.record_key of each side
    st_record_key text not null check (st_record_key like 'servicetitan:%'),
    ghl_record_key text not null check (ghl_record_key like 'gohighlevel:%'),
    decision text not null check (decision in ('same', 'different')),
    note text,
    decided_by text not null default current_user,
    decided_at timestamptz not null default now(),
    primary key (st_record_key, ghl_record_key)
);

-- the matching looks decisions up by either side, and finds the ones taken since its last run
create index contact_match_reviews_ghl_idx on crm.contact_match_reviews (ghl_record_key);
create index contact_match_reviews_decided_idx on crm.contact_match_reviews (decided_at);

-- a changed decision counts from when it was changed
create or replace function crm.contact_match_reviews_touch() returns trigger
language plpgsql as $$
begin
    new.decided_at := now();
    new.decided_by := current_user;
    return new;
end
$$;

create trigger contact_match_reviews_touch before update on crm.contact_match_reviews
for each row execute function crm.contact_match_reviews_touch();

-- the transformer reads decisions; people (bi_reader is read-only) decide through a role that
-- owns the table or one granted below
grant select on crm.contact_match_reviews to lazi_transformer;
grant select on crm.contact_match_reviews to bi_reader;
