"""Who may see what (layer 3, above ``analytics``): the viewer's scope enforced where the data
is read (``scope``), de-identified practice figures (``practice``), every small-cell rule
(``disclosure``), the access list (``access_list``), the audit log (``audit``) and uploads
(``uploads``). See docs/architecture.md."""
