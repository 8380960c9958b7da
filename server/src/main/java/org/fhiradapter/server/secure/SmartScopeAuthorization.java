package org.fhiradapter.server.secure;

import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.interceptor.auth.AuthorizationInterceptor;
import ca.uhn.fhir.rest.server.interceptor.auth.IAuthRule;
import ca.uhn.fhir.rest.server.interceptor.auth.IAuthRuleBuilder;
import ca.uhn.fhir.rest.server.interceptor.auth.IAuthRuleBuilderAppliesTo;
import ca.uhn.fhir.rest.server.interceptor.auth.PolicyEnum;
import ca.uhn.fhir.rest.server.interceptor.auth.RuleBuilder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/**
 * HAPI's AuthorizationInterceptor fed from the SMART scopes of the request's access token.
 *
 * <p>Scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html) in v2 form
 * {@code system/Observation.cruds} or v1 {@code system/Observation.read|write|*}: {@code r} or
 * {@code s} (v1 read) allow reads, searches, history and {@code $validate}; {@code c} allows
 * creates, {@code u} updates (an update may create, as PUT does); {@code d} deletes; any of
 * c, u or d allows transactions whose entries are then checked one by one. {@code *} as the
 * type grants it for every type, and with read also bulk {@code $export}. A scope narrowed by a
 * query ({@code ?category=...}) grants nothing here: this server does not evaluate the filter.
 * The CapabilityStatement is open. A refusal is a 403 carrying
 * {@code WWW-Authenticate: Bearer error="insufficient_scope"} (RFC 6750 §3.1).
 */
public class SmartScopeAuthorization extends AuthorizationInterceptor {

	private static final Pattern SCOPE =
			Pattern.compile("^system/(\\*|[A-Z][A-Za-z]{1,63})\\.(read|write|\\*|c?r?u?d?s?)$");

	public SmartScopeAuthorization() {
		super(PolicyEnum.DENY);
	}

	/** Permissions per resource type ("*" for all), as letters of "cruds". */
	static Map<String, String> permissions(Collection<String> scopes) {
		Map<String, String> granted = new LinkedHashMap<>();
		for (String scope : scopes) {
			Matcher match = SCOPE.matcher(scope);
			if (!match.matches() || match.group(2).isEmpty()) {
				continue;
			}
			String letters = switch (match.group(2)) {
				case "read" -> "rs";
				case "write" -> "cud";
				case "*" -> "cruds";
				default -> match.group(2);
			};
			granted.merge(match.group(1), letters, String::concat);
		}
		return granted;
	}

	static List<String> scopesOf(Authentication authentication) {
		if (!(authentication instanceof JwtAuthenticationToken token)) {
			return List.of();
		}
		Object claim = token.getToken().getClaims().get("scope");
		List<String> scopes = new ArrayList<>();
		if (claim instanceof Collection<?> values) {
			values.forEach(value -> scopes.add(String.valueOf(value)));
		} else if (claim instanceof String text) {
			scopes.addAll(List.of(text.trim().split("\\s+")));
		}
		return scopes;
	}

	private static <T> T on(IAuthRuleBuilderAppliesTo<T> rule, String type) {
		return "*".equals(type) ? rule.allResources() : rule.resourcesOfType(type);
	}

	@Override
	public List<IAuthRule> buildRuleList(RequestDetails request) {
		IAuthRuleBuilder rules = new RuleBuilder();
		rules.allow().metadata();
		boolean writes = false;
		for (Map.Entry<String, String> grant :
				permissions(scopesOf(SecurityContextHolder.getContext().getAuthentication())).entrySet()) {
			String type = grant.getKey();
			String letters = grant.getValue();
			if (letters.contains("r") || letters.contains("s")) {
				on(rules.allow().read(), type).withAnyId();
				if ("*".equals(type)) {
					rules.allow().operation().named("$validate").onAnyType().andAllowAllResponses();
					rules.allow().bulkExport().any();
					rules.allow().operation().named("$export-poll-status").onServer().andAllowAllResponses();
				} else {
					rules.allow().operation().named("$validate").onType(
							request.getFhirContext().getResourceDefinition(type).getImplementingClass())
							.andAllowAllResponses();
				}
			}
			if (letters.contains("u")) {
				on(rules.allow().write(), type).withAnyId();
				on(rules.allow().updateConditional(), type);
				writes = true;
			} else if (letters.contains("c")) {
				on(rules.allow().create(), type).withAnyId();
				writes = true;
			}
			if (letters.contains("c")) {
				on(rules.allow().createConditional(), type);
			}
			if (letters.contains("d")) {
				on(rules.allow().delete(), type).withAnyId();
				on(rules.allow().delete().onCascade(), type).withAnyId();
				on(rules.allow().deleteConditional(), type);
				writes = true;
			}
		}
		if (writes) {
			rules.allow().transaction().withAnyOperation().andApplyNormalRules();
		}
		return rules.build();
	}

	/** The smallest scope that would have allowed the request, when it can be told. */
	static String neededScope(RequestDetails request) {
		RestOperationTypeEnum operation = request.getRestOperationType();
		String type = request.getResourceName() == null ? "*" : request.getResourceName();
		if (operation == null) {
			return null;
		}
		return switch (operation) {
			case READ, VREAD, SEARCH_TYPE, SEARCH_SYSTEM, HISTORY_INSTANCE, HISTORY_TYPE,
					HISTORY_SYSTEM, GET_PAGE -> "system/" + type + ".rs";
			case CREATE -> "system/" + type + ".c";
			case UPDATE, PATCH -> "system/" + type + ".cu";
			case DELETE -> "system/" + type + ".d";
			case TRANSACTION, BATCH -> "system/*.cu";
			// $validate stores nothing: reading the type is enough (see the rules above).
			case EXTENDED_OPERATION_TYPE, EXTENDED_OPERATION_INSTANCE ->
					"$validate".equals(request.getOperation()) ? "system/" + type + ".rs" : null;
			default -> null;
		};
	}

	@Override
	protected void handleDeny(RequestDetails request, Verdict verdict) {
		List<String> scopes = scopesOf(SecurityContextHolder.getContext().getAuthentication());
		String needed = neededScope(request);
		String challenge = "Bearer error=\"insufficient_scope\""
				+ (needed == null ? "" : ", scope=\"" + needed + "\"");
		ForbiddenOperationException refusal = new ForbiddenOperationException(
				"insufficient_scope: the access token's scopes (" + String.join(" ", scopes)
						+ ") do not allow this request" + (needed == null ? "" : "; it needs " + needed));
		refusal.addResponseHeader("WWW-Authenticate", challenge);
		throw refusal;
	}
}
