-- the longest-prefix match looks at var max_destination_prefix_length characters at most
select prefix
from {{ ref('destinations') }}
where length(prefix) > {{ var('max_destination_prefix_length') }}
