{#- The distinct names of master.customers, trigram-indexed, for fuzzy name
    lookups (the README's query: the most similar names here, then their
    customers by name). Customer names repeat (at 1,000,000 customers the
    stand-in has about 37,000 distinct ones), so a trigram index on
    master.customers merges posting lists of every customer per trigram
    (p95 56 ms at 1,000,000 customers, measured); here each name counts once.

    Incremental (merge on customer_name): the names of the customers master
    recomputed since the last run; a post-hook deletes the names no customer
    has any more (a customer renamed). -#}
{{
    config(
        materialized='incremental',
        unique_key='customer_name',
        incremental_strategy='merge',
        post_hook=[
            "{{ analyze_if_new() }}",
            "delete from {{ this }} as names where not exists (select from "
            ~ "{{ ref('customers') }} as customers where customers.customer_name"
            ~ " = names.customer_name)",
        ],
    )
}}

with

customers as (

    select * from {{ ref('customers') }}

),

final as (

    select
        customers.customer_name,
        max(customers.last_load_id) as last_load_id
    from customers
    {% if is_incremental() %}
        where
            customers.customer_name is not null
            and customers.last_load_id > {{ watermark() }}
    {% else %}
        where customers.customer_name is not null
    {% endif %}
    group by 1

)

select * from final
