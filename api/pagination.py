"""Page-number pages: ``?page=2&page_size=50`` (at most 100 a page), with the total count and
the next and previous pages' links."""

from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
