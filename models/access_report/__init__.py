"""The patient's access report: who on the staff read or changed their data, from the trail."""
