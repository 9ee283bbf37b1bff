"""Sign up / in / out, and Settings: API tokens and secrets."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from pipelines import ratelimits
from pipelines.errors import RateLimited, ServiceError
from pipelines.forms import SecretCreateForm, SecretUpdateForm, SignupForm, TokenCreateForm, add_service_error
from pipelines.selectors import secrets_of, tokens_of
from pipelines.services import secrets as secret_services
from pipelines.services import tokens as token_services
from pipelines.services.users import user_create, user_namespace
from pipelines.views.common import error_page, is_htmx, page


class LoginView(auth_views.LoginView):
    """Django's sign-in page behind the sign-in throttle (pipelines/ratelimits.py): once a
    username or client address has failed too often, the page answers 429 with
    ``Retry-After`` and says when to try again, without checking the password; a
    correct password clears the username's failures."""

    template_name = "pipelines/user_login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            ratelimits.signin_check(
                username=request.POST.get("username", ""), address=request.META.get("REMOTE_ADDR", "")
            )
        except RateLimited as exc:
            # Unbound: validating it would check the password, which is what is refused.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            throttled = exc.message[:1].upper() + exc.message[1:] + "."
            response = self.render_to_response(self.get_context_data(form=form, throttled=throttled), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        ratelimits.signin_succeeded(username=form.get_user().get_username())
        return super().form_valid(form)

    def form_invalid(self, form):
        ratelimits.signin_failed(
            username=self.request.POST.get("username", ""), address=self.request.META.get("REMOTE_ADDR", "")
        )
        return super().form_invalid(form)


login = LoginView.as_view()
logout = auth_views.LogoutView.as_view()


def signup(request):
    if not settings.PIPELINE_SIGNUP_ENABLED:
        return error_page(request, 403, "Sign-up is switched off on this server. Ask its administrator for an account.")
    if request.user.is_authenticated:
        return redirect("/")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(username=form.cleaned_data["username"], password=form.cleaned_data["password1"])
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Your namespace is {user.username}.")
            target = request.GET.get("next", "/")
            return redirect(target if url_has_allowed_host_and_scheme(target, {request.get_host()}) else "/")
    return render(request, "pipelines/user_signup.html", {"form": form}, status=400 if form.errors else 200)


# --- tokens -------------------------------------------------------------------------


def _settings_page(request, template: str, panel: str, context: dict, status: int):
    """The whole settings page, or (htmx) just its panel of forms and list."""
    return render(request, f"{template}#{panel}" if is_htmx(request) else template, context, status=status)


def _token_page(request, *, form, created=None, status=200):
    tokens = tokens_of(user=request.user)
    context = {"form": form, "tokens": tokens, "created": created}
    return _settings_page(request, "pipelines/apitoken_list.html", "token-panel", context, status)


@login_required
def token_list(request):
    """List (masked) and create; a new token is shown once, in the answer to its creation."""
    form = TokenCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = token_services.token_create(
                user=request.user, token_id=form.cleaned_data["id"], ttl=form.ttl()
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            created = {"token": token, "raw": raw}
            form = TokenCreateForm()
    return _token_page(request, form=form, created=created, status=400 if form.errors else 200)


@login_required
@require_POST
@page
def token_delete(request, token_id: str):
    token_services.token_delete(user=request.user, token_id=token_id)
    messages.success(request, f'Token "{token_id}" revoked: it no longer works.')
    if is_htmx(request):
        return _token_page(request, form=TokenCreateForm())
    return redirect("token-list")


# --- secrets ------------------------------------------------------------------------


def _secret_page(request, *, form, status=200, update_errors=None):
    namespace = user_namespace(request.user)
    context = {
        "form": form,
        "secrets": secrets_of(namespace=namespace),
        "update_errors": update_errors or {},
    }
    return _settings_page(request, "pipelines/secret_list.html", "secret-panel", context, status)


@login_required
def secret_list(request):
    form = SecretCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            secret_services.secret_create(
                namespace=user_namespace(request.user),
                secret_id=data["id"],
                value=data["value"],
                description=data["description"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f'Secret "{data["id"]}" saved. Its value will not be shown again.')
            form = SecretCreateForm()
    return _secret_page(request, form=form, status=400 if form.errors else 200)


@login_required
@require_POST
@page
def secret_update(request, secret_id: str):
    form = SecretUpdateForm(request.POST)
    if form.is_valid():
        secret_services.secret_update(
            namespace=user_namespace(request.user), secret_id=secret_id, value=form.cleaned_data["value"]
        )
        messages.success(request, f'Secret "{secret_id}" updated.')
        return _secret_page(request, form=SecretCreateForm()) if is_htmx(request) else redirect("secret-list")
    return _secret_page(request, form=SecretCreateForm(), status=400, update_errors={secret_id: form.errors["value"]})


@login_required
@require_POST
@page
def secret_delete(request, secret_id: str):
    secret_services.secret_delete(namespace=user_namespace(request.user), secret_id=secret_id)
    messages.success(request, f'Secret "{secret_id}" deleted.')
    return _secret_page(request, form=SecretCreateForm()) if is_htmx(request) else redirect("secret-list")
