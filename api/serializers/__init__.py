"""The API's serializers, one module per resource: they check input and shape output, and
never decide anything (that is the actions')."""
