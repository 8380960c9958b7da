"""Registry profiles: a registry's StructureDefinitions loaded into a FHIR server's
validation support, and resources checked against them with ``$validate``.

What it does: reads the conformance resources of a folder (StructureDefinition files, or an
IG package folder with its ValueSets and CodeSystems); loads them into a server with
``PUT Type/id`` (``load_profiles``); finds each required profile on the server and the
resource type it constrains (``resolve_profiles``); and says which of a set of resources
break a required profile (``ProfileCheck``), with the element and the profile, never a value.

What it must not do: know about mappings, ledgers or sync plans (callers hand it resources
and decide what a failure costs), or load anything but conformance resources.
"""

from fhir_adapter.profiles._check import ProfileCheck, ProfileFinding
from fhir_adapter.profiles._errors import ProfileError
from fhir_adapter.profiles._files import ConformanceFolder, read_profile_dir
from fhir_adapter.profiles._server import RequiredProfiles, load_profiles, resolve_profiles

__all__ = [
    "ConformanceFolder",
    "ProfileCheck",
    "ProfileError",
    "ProfileFinding",
    "RequiredProfiles",
    "load_profiles",
    "read_profile_dir",
    "resolve_profiles",
]
