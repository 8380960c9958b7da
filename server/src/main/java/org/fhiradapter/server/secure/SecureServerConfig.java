package org.fhiradapter.server.secure;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.core.annotation.Order;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.authorization.authentication.JwtClientAssertionAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configurers.OAuth2AuthorizationServerConfigurer;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.preauth.AbstractPreAuthenticatedProcessingFilter;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;

/**
 * The secure mode of the local server ({@code --spring.profiles.active=secure}): an OAuth 2.0
 * authorization server (Spring Authorization Server: client credentials with
 * {@code private_key_jwt}, as SMART Backend Services asks) and {@code /fhir} as a resource
 * server that accepts only its JWT access tokens (signature, expiry, issuer, audience = the
 * FHIR base, client still registered) and enforces their SMART scopes per request
 * ({@link SmartScopeAuthorization}). Issuer: {@code http://127.0.0.1:<port>}; token endpoint
 * {@code /oauth2/token}; the signing key is made at startup and lives in memory only, so a
 * restart invalidates every token. Without the profile none of this exists and the server is
 * open, as before.
 */
@Configuration
@Profile("secure")
@EnableWebSecurity
public class SecureServerConfig {

	private final String issuer;
	private final String fhirBase;

	public SecureServerConfig(@Value("${server.port}") int port) {
		this.issuer = "http://127.0.0.1:" + port;
		this.fhirBase = issuer + "/fhir";
	}

	@Bean
	public ClientRegistry clientRegistry(
			@Value("${fhiradapter.secure.clients-file}") String clientsFile,
			@Value("${fhiradapter.secure.token-lifetime-seconds:300}") long tokenLifetime) {
		return new ClientRegistry(Path.of(clientsFile), Duration.ofSeconds(tokenLifetime));
	}

	@Bean
	public AuthorizationServerSettings authorizationServerSettings() {
		return AuthorizationServerSettings.builder().issuer(issuer).build();
	}

	private static KeyPair newRsaKeyPair() {
		try {
			KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
			generator.initialize(2048);
			return generator.generateKeyPair();
		} catch (NoSuchAlgorithmException e) {
			throw new IllegalStateException(e);
		}
	}

	private final KeyPair signingKeys = newRsaKeyPair();

	@Bean
	public JWKSource<SecurityContext> jwkSource() {
		RSAKey key = new RSAKey.Builder((RSAPublicKey) signingKeys.getPublic())
				.privateKey((RSAPrivateKey) signingKeys.getPrivate())
				.keyID(UUID.randomUUID().toString())
				.build();
		return new ImmutableJWKSet<>(new JWKSet(key));
	}

	/** Access tokens name the FHIR base as their audience, so they are good for it alone. */
	@Bean
	public OAuth2TokenCustomizer<JwtEncodingContext> accessTokenAudience() {
		return context -> context.getClaims().audience(List.of(fhirBase));
	}

	@Bean
	@Order(1)
	public SecurityFilterChain authorizationServer(HttpSecurity http, ClientRegistry registry)
			throws Exception {
		OAuth2AuthorizationServerConfigurer server = OAuth2AuthorizationServerConfigurer.authorizationServer();
		ClientAssertionDecoders decoders = new ClientAssertionDecoders(registry, Clock.systemUTC());
		http.securityMatcher(server.getEndpointsMatcher())
				.with(server, configurer -> configurer.clientAuthentication(clients ->
						clients.authenticationProviders(providers -> providers.forEach(provider -> {
							if (provider instanceof JwtClientAssertionAuthenticationProvider assertions) {
								assertions.setJwtDecoderFactory(decoders);
							}
						}))))
				.authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
				.addFilterBefore(new ClientIdFromAssertionFilter(), AbstractPreAuthenticatedProcessingFilter.class)
				.sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
		return http.build();
	}

	@Bean
	@Order(2)
	public SecurityFilterChain fhirResourceServer(HttpSecurity http, ClientRegistry registry)
			throws Exception {
		// Path patterns on the whole request path: /fhir/* is HAPI's servlet, not Spring MVC's,
		// so Spring Security's default (MVC) matchers would not see these paths.
		PathPatternRequestMatcher.Builder paths = PathPatternRequestMatcher.withDefaults();
		http.securityMatcher(paths.matcher("/fhir/**"))
				.authorizeHttpRequests(requests -> requests
						.requestMatchers(paths.matcher("/fhir/metadata"),
								paths.matcher("/fhir/.well-known/smart-configuration")).permitAll()
						.anyRequest().authenticated())
				.oauth2ResourceServer(resource -> resource.jwt(jwt -> jwt.decoder(accessTokenDecoder(registry))))
				.csrf(csrf -> csrf.disable())
				.sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
		return http.build();
	}

	@Bean
	@Order(3)
	public SecurityFilterChain everythingElse(HttpSecurity http) throws Exception {
		http.authorizeHttpRequests(requests -> requests
						.requestMatchers(PathPatternRequestMatcher.withDefaults().matcher("/error")).permitAll()
						.anyRequest().denyAll())
				.csrf(csrf -> csrf.disable())
				.sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
		return http.build();
	}

	private JwtDecoder accessTokenDecoder(ClientRegistry registry) {
		NimbusJwtDecoder decoder = NimbusJwtDecoder.withPublicKey((RSAPublicKey) signingKeys.getPublic()).build();
		OAuth2TokenValidator<Jwt> audience = token -> token.getAudience() != null
						&& token.getAudience().contains(fhirBase)
				? OAuth2TokenValidatorResult.success()
				: OAuth2TokenValidatorResult.failure(new OAuth2Error(
						OAuth2ErrorCodes.INVALID_TOKEN, "the token is not meant for this FHIR server", null));
		OAuth2TokenValidator<Jwt> stillRegistered = token -> registry.isRegistered(token.getSubject())
				? OAuth2TokenValidatorResult.success()
				: OAuth2TokenValidatorResult.failure(new OAuth2Error(
						OAuth2ErrorCodes.INVALID_TOKEN, "the client was revoked", null));
		decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(
				JwtValidators.createDefaultWithIssuer(issuer), audience, stillRegistered));
		return decoder;
	}

	@Bean
	public SmartScopeAuthorization smartScopeAuthorization() {
		return new SmartScopeAuthorization();
	}

	@Bean
	public ServletRegistrationBean<SmartConfigurationServlet> smartConfiguration() {
		ServletRegistrationBean<SmartConfigurationServlet> registration = new ServletRegistrationBean<>(
				new SmartConfigurationServlet(issuer), "/fhir/.well-known/smart-configuration");
		registration.setName("smartConfiguration");
		return registration;
	}
}
