{#- crm.contact_match_reviews, a table people edit (migration 0017 defines its
    columns and checks), read as it is: the one place a model reads it from. -#}
with

reviews as (

    select * from {{ source('crm_editable', 'contact_match_reviews') }}

),

renamed as (

    select
        ---------- ids
        reviews.st_record_key,
        reviews.ghl_record_key,

        ---------- strings
        reviews.decision,
        reviews.note,
        reviews.decided_by,

        ---------- timestamps
        reviews.decided_at

    from reviews

)

select * from renamed
