"""`nianbao compare`: one body's reports across years. Reports are grouped by body
(extractors.agency) and each year is paired with the year before (pairing); each pair gets
the cross-year rules X2/X3 with blame (cross_year), the share of text copied from the year
before (reuse) and every figure's change (changes); each report its derived measures
(measures). The results go to CSV and Parquet (exports), to the run's database when the
source is one (tables), and into an HTML report (report)."""
