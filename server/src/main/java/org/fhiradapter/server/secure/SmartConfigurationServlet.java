package org.fhiradapter.server.secure;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code [base]/.well-known/smart-configuration}: where a SMART Backend Services client finds the
 * token endpoint and what it accepts (https://hl7.org/fhir/smart-app-launch/conformance.html).
 * Mapped by exact path, which wins over HAPI's {@code /fhir/*}.
 */
public class SmartConfigurationServlet extends HttpServlet {

	private final byte[] body;

	public SmartConfigurationServlet(String issuer) {
		Map<String, Object> config = new LinkedHashMap<>();
		config.put("issuer", issuer);
		config.put("jwks_uri", issuer + "/oauth2/jwks");
		config.put("token_endpoint", issuer + "/oauth2/token");
		config.put("grant_types_supported", List.of("client_credentials"));
		config.put("token_endpoint_auth_methods_supported", List.of("private_key_jwt"));
		config.put("token_endpoint_auth_signing_alg_values_supported", List.of("RS384", "ES384"));
		config.put("scopes_supported", List.of("system/*.rs", "system/*.cu", "system/*.d",
				"system/*.cruds", "system/*.read", "system/*.write"));
		config.put("capabilities", List.of("client-confidential-asymmetric", "permission-v1", "permission-v2"));
		try {
			this.body = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(config);
		} catch (IOException e) {
			throw new IllegalStateException(e);
		}
	}

	@Override
	protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
		response.setStatus(200);
		response.setContentType("application/json");
		response.setContentLength(body.length);
		response.getOutputStream().write(body);
	}
}
