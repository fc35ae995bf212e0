"""Model directories shipped with topicclf (data only: JSON, safetensors, NumPy, Markdown).

Load one by name with ``topicclf.load("vntc10")``; nothing in here is imported as code.
"""
