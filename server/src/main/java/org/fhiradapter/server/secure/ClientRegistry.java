package org.fhiradapter.server.secure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.JWKSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.settings.OAuth2TokenFormat;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;

/**
 * The registered SMART Backend Services clients, read from a JSON file that fhir-adapter keeps
 * in the server's owner-only state folder:
 *
 * <pre>{"clients": [{"client_id": "sync", "scopes": ["system/*.rs"], "jwks": {"keys": [...]}}]}</pre>
 *
 * <p>The file is read again whenever it changes (size or modification time), so registering or
 * revoking a client takes effect on the next request without a restart: a removed client can
 * no longer get a token, and the tokens it holds stop working at once (the resource server asks
 * {@link #isRegistered} on every request). A file that cannot be read or parsed keeps no client
 * at all: failing closed.
 */
public class ClientRegistry implements RegisteredClientRepository {

	private static final Logger LOG = LoggerFactory.getLogger(ClientRegistry.class);

	/** One registered client: its id, allowed scopes and public keys. */
	public record Client(String clientId, Set<String> scopes, JWKSet jwks) {}

	private final Path file;
	private final Duration tokenLifetime;
	private final ObjectMapper json = new ObjectMapper();
	private Map<String, Client> clients = Map.of();
	private Object seenVersion;

	public ClientRegistry(Path file, Duration tokenLifetime) {
		this.file = file;
		this.tokenLifetime = tokenLifetime;
	}

	/** The client as the file says now, or null. */
	public synchronized Client client(String clientId) {
		reloadIfChanged();
		return clients.get(clientId);
	}

	public boolean isRegistered(String clientId) {
		return clientId != null && client(clientId) != null;
	}

	private void reloadIfChanged() {
		Object version;
		try {
			BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
			version = attributes.lastModifiedTime().toString() + "/" + attributes.size() + "/"
					+ attributes.fileKey();
		} catch (NoSuchFileException e) {
			version = "absent";
		} catch (IOException e) {
			version = "unreadable";
		}
		if (version.equals(seenVersion)) {
			return;
		}
		seenVersion = version;
		clients = load();
		LOG.info("SMART clients registered: {}", clients.keySet());
	}

	private Map<String, Client> load() {
		Map<String, Client> loaded = new LinkedHashMap<>();
		try {
			JsonNode root = json.readTree(file.toFile());
			for (JsonNode entry : root.path("clients")) {
				String id = entry.path("client_id").asText("");
				if (id.isBlank()) {
					throw new IllegalArgumentException("a client without client_id");
				}
				Set<String> scopes = new LinkedHashSet<>();
				entry.path("scopes").forEach(scope -> scopes.add(scope.asText()));
				@SuppressWarnings("unchecked")
				Map<String, Object> jwks = json.convertValue(entry.path("jwks"), Map.class);
				JWKSet keys = JWKSet.parse(jwks);
				if (keys.getKeys().isEmpty() || keys.getKeys().stream().anyMatch(k -> k.isPrivate())) {
					throw new IllegalArgumentException("client " + id + ": the JWKS must hold public keys only");
				}
				loaded.put(id, new Client(id, scopes, keys));
			}
		} catch (IOException | RuntimeException | java.text.ParseException e) {
			LOG.warn("cannot use the clients file {} ({}); no client is registered", file, e.getMessage());
			return Map.of();
		}
		return loaded;
	}

	@Override
	public void save(RegisteredClient registeredClient) {
		throw new UnsupportedOperationException("clients are registered in the clients file");
	}

	@Override
	public RegisteredClient findById(String id) {
		return findByClientId(id);
	}

	@Override
	public RegisteredClient findByClientId(String clientId) {
		Client client = client(clientId);
		if (client == null) {
			return null;
		}
		return RegisteredClient.withId(client.clientId())
				.clientId(client.clientId())
				.clientAuthenticationMethod(ClientAuthenticationMethod.PRIVATE_KEY_JWT)
				.authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS)
				.scopes(scopes -> scopes.addAll(client.scopes()))
				.tokenSettings(TokenSettings.builder()
						.accessTokenFormat(OAuth2TokenFormat.SELF_CONTAINED)
						.accessTokenTimeToLive(tokenLifetime)
						.build())
				.build();
	}
}
