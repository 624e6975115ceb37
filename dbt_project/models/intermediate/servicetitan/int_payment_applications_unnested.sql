{{ config(materialized='view') }}

with

payments as (

    select * from {{ ref('stg_servicetitan__payments') }}

),

applications as (

    {{ servicetitan_payment_applications('payments') }}

)

select * from applications
