"""What is shown or handed out (layer 4, below the dashboard): the team meeting pack
(``meeting_pack``), PDF printing (``pdf``), the theme (``theme``), number and date formats
(``formats``), shared chart pieces (``figures_common``) and spreadsheet-safe cells
(``cells``). See docs/architecture.md."""
