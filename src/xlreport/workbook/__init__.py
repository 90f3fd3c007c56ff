"""The spreadsheet medium: cell addresses, layout, the template writer, and the guarded xlsx reader."""
