package org.fhiradapter.server.secure;

import com.nimbusds.jwt.SignedJWT;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.text.ParseException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * SMART Backend Services token requests carry no {@code client_id}: the client is the
 * assertion's {@code iss} (RFC 7523 §3 makes client_id optional). Spring Authorization Server
 * requires the parameter, so for a token request without it this filter supplies the
 * (not yet verified) issuer; the assertion is then verified as usual, and an assertion whose
 * issuer and subject differ from that client is refused there.
 */
public class ClientIdFromAssertionFilter extends OncePerRequestFilter {

	@Override
	protected boolean shouldNotFilter(HttpServletRequest request) {
		return !"POST".equals(request.getMethod())
				|| !request.getRequestURI().endsWith("/oauth2/token")
				|| request.getParameter("client_assertion") == null
				|| request.getParameter("client_id") != null;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		String issuer;
		try {
			issuer = SignedJWT.parse(request.getParameter("client_assertion")).getJWTClaimsSet().getIssuer();
		} catch (ParseException | RuntimeException e) {
			issuer = null; // left to the authorization server, which answers invalid_request
		}
		if (issuer == null || issuer.isBlank()) {
			chain.doFilter(request, response);
			return;
		}
		Map<String, String[]> parameters = new LinkedHashMap<>(request.getParameterMap());
		parameters.put("client_id", new String[] {issuer});
		Map<String, String[]> withClientId = Collections.unmodifiableMap(parameters);
		chain.doFilter(new HttpServletRequestWrapper(request) {
			@Override
			public String getParameter(String name) {
				String[] values = withClientId.get(name);
				return values == null || values.length == 0 ? null : values[0];
			}

			@Override
			public Map<String, String[]> getParameterMap() {
				return withClientId;
			}

			@Override
			public Enumeration<String> getParameterNames() {
				return Collections.enumeration(withClientId.keySet());
			}

			@Override
			public String[] getParameterValues(String name) {
				return withClientId.get(name);
			}
		}, response);
	}
}
