{#-
    An incremental run's working memory (var micro_batch_work_mem), local to the model's transaction: a
    micro-batch's new rows, their sorts and windows stay in memory instead of spilling to disk. A full
    refresh spills either way and keeps the server's setting.
-#}
{% macro micro_batch_work_mem() -%}
    {%- if is_incremental() %}set local work_mem = '{{ var("micro_batch_work_mem") }}'{% endif %}
{%- endmacro %}
