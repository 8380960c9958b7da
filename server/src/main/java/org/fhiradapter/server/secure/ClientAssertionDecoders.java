package org.fhiradapter.server.secure;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtDecoderFactory;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.authorization.authentication.JwtClientAssertionDecoderFactory;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;

/**
 * Verifies SMART client assertions against the JWKS registered for the client (no key is ever
 * fetched from a URL). On top of Spring Authorization Server's own checks (iss = sub = client id,
 * aud = the token endpoint, exp and nbf), SMART Backend Services asks that an assertion expire at
 * most five minutes ahead and that its {@code jti} is never accepted twice
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html#signature-verification).
 */
public class ClientAssertionDecoders implements JwtDecoderFactory<RegisteredClient> {

	static final Duration MAX_LIFETIME = Duration.ofMinutes(5);
	static final Duration CLOCK_SKEW = Duration.ofSeconds(60);
	private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS384, JWSAlgorithm.ES384);

	private final ClientRegistry registry;
	private final Clock clock;
	private final Map<String, Instant> seenJtis = new ConcurrentHashMap<>();

	public ClientAssertionDecoders(ClientRegistry registry, Clock clock) {
		this.registry = registry;
		this.clock = clock;
	}

	@Override
	public JwtDecoder createDecoder(RegisteredClient client) {
		ClientRegistry.Client registered = registry.client(client.getClientId());
		if (registered == null) {
			return token -> {
				throw new BadJwtException("client not registered");
			};
		}
		DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
		processor.setJWSKeySelector(
				new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(registered.jwks())));
		NimbusJwtDecoder decoder = new NimbusJwtDecoder(processor);
		decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(
				JwtClientAssertionDecoderFactory.DEFAULT_JWT_VALIDATOR_FACTORY.apply(client),
				this::shortLived,
				this::notReplayed));
		return decoder;
	}

	private static OAuth2TokenValidatorResult invalid(String description) {
		return OAuth2TokenValidatorResult.failure(
				new OAuth2Error(OAuth2ErrorCodes.INVALID_CLIENT, description, null));
	}

	private OAuth2TokenValidatorResult shortLived(Jwt assertion) {
		Instant expires = assertion.getExpiresAt();
		if (expires == null) {
			return invalid("the assertion has no exp");
		}
		if (expires.isAfter(clock.instant().plus(MAX_LIFETIME).plus(CLOCK_SKEW))) {
			return invalid("the assertion expires more than five minutes ahead");
		}
		return OAuth2TokenValidatorResult.success();
	}

	private OAuth2TokenValidatorResult notReplayed(Jwt assertion) {
		String jti = assertion.getId();
		if (jti == null || jti.isBlank()) {
			return invalid("the assertion has no jti");
		}
		Instant now = clock.instant();
		for (Iterator<Map.Entry<String, Instant>> it = seenJtis.entrySet().iterator(); it.hasNext(); ) {
			if (it.next().getValue().isBefore(now.minus(CLOCK_SKEW))) {
				it.remove(); // expired assertions are refused anyway: forget them
			}
		}
		Instant expires = assertion.getExpiresAt() == null ? now : assertion.getExpiresAt();
		String key = assertion.getClaimAsString("iss") + " " + jti;
		if (seenJtis.putIfAbsent(key, expires) != null) {
			return invalid("the assertion's jti was already used");
		}
		return OAuth2TokenValidatorResult.success();
	}
}
