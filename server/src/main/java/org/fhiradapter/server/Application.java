package org.fhiradapter.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration;

/**
 * Entry point of fhir-adapter's local HAPI FHIR R4 server.
 *
 * <p>Everything FHIR-specific is wired in {@link PersistenceConfig}, {@link SandboxSettingsConfig}
 * and {@link FhirServletConfig}; Spring Boot only supplies the embedded Tomcat, the DataSource
 * and property binding. Hibernate's Boot auto-configuration is excluded because HAPI needs its
 * own entity-manager factory. With the profile {@code secure}, {@link
 * org.fhiradapter.server.secure.SecureServerConfig} adds an OAuth 2.0 authorization server and
 * protects {@code /fhir}; without it the server is open on loopback.
 */
@SpringBootApplication(
		exclude = {HibernateJpaAutoConfiguration.class},
		// HAPI drags these clients onto the classpath; we use neither Elasticsearch nor Spring MVC views.
		excludeName = {
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration",
			// Spring Security is on the classpath for secure mode only; its Boot defaults (a
			// generated password on every URL) must never switch on by themselves.
			"org.springframework.boot.autoconfigure.security.servlet.SecurityAutoConfiguration",
			"org.springframework.boot.autoconfigure.security.servlet.SecurityFilterAutoConfiguration",
			"org.springframework.boot.autoconfigure.security.servlet.UserDetailsServiceAutoConfiguration",
			"org.springframework.boot.autoconfigure.security.oauth2.resource.servlet.OAuth2ResourceServerAutoConfiguration",
			"org.springframework.boot.autoconfigure.security.oauth2.server.servlet.OAuth2AuthorizationServerAutoConfiguration",
			"org.springframework.boot.autoconfigure.security.oauth2.server.servlet.OAuth2AuthorizationServerJwtAutoConfiguration"
		})
public class Application {

	public static void main(String[] args) {
		SpringApplication.run(Application.class, args);
	}
}
