package org.fhiradapter.server;

import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.entity.StorageSettings;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Storage behaviour chosen to match the public HAPI sandbox (hapi.fhir.org/baseR4), so that
 * what our client learns against the local server also holds against real deployments.
 */
@Configuration
public class SandboxSettingsConfig {

	/** Search results are reused for this long unless the client sends Cache-Control: no-cache. */
	static final long SEARCH_CACHE_MILLIS = 60_000L;

	@Bean
	public JpaStorageSettings jpaStorageSettings() {
		JpaStorageSettings settings = new JpaStorageSettings();
		settings.setAllowExternalReferences(true);
		settings.setAllowMultipleDelete(true);
		// HAPI's default is on; the sandbox turns inline match URLs ("Patient?identifier=...") off.
		settings.setAllowInlineMatchUrlReferences(false);
		settings.setIndexMissingFields(StorageSettings.IndexEnabledEnum.ENABLED);
		settings.setIndexOnContainedResources(true);
		settings.setExpungeEnabled(true);
		settings.setDeleteExpungeEnabled(true);
		settings.setEnforceReferentialIntegrityOnWrite(true);
		settings.setEnforceReferentialIntegrityOnDelete(true);
		settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
		settings.setSuppressUpdatesWithNoChange(true);
		settings.setEnableTaskBulkExportJobExecution(true);
		settings.setEnableTaskBulkImportJobExecution(false);
		// Lets a job move to its next step as soon as the current one finishes.
		settings.setJobFastTrackingEnabled(true);
		settings.setReuseCachedSearchResultsForMillis(SEARCH_CACHE_MILLIS);
		return settings;
	}

	/** One unpartitioned repository, as on the sandbox. */
	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	/** No subscription channel types are enabled: we never deliver notifications. */
	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings();
	}
}
