"""The OpenAPI 3.1 document of the REST API, served at /api/openapi.json.

Tests check that it names exactly the routes the app serves and that real answers match it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from satellite import __version__
from satellite.web.http import ON_PREM_PREFIX

bp = Blueprint("openapi", __name__)


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(key: str, item: str) -> dict[str, Any]:
    return _obj([key], **{key: {"type": "array", "items": _ref(item)}})


STR = {"type": "string"}
INT = {"type": "integer"}
ID = {"type": "integer", "format": "int64", "minimum": 1}
BOOL = {"type": "boolean"}
DATE = {"type": ["string", "null"], "format": "date"}
NSTR = {"type": ["string", "null"]}
TAGS = {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 20,
        "description": "the operator's own tags: letters, digits and . _ : / + -, lower case"}
ROLE = {"type": "string", "enum": ["system_admin", "account_admin", "account_user",
                                   "account_viewer", "va_admin", "va_user", "va_viewer"]}
PAGE = {"limit": {"type": "integer", "description": "-1 means all", "minimum": -1},
        "offset": {"type": "integer", "minimum": 0}}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(["status", "statusMessage"], status={"const": "ERROR"}, statusMessage=STR,
                  error=STR, field={"type": "string",
                                    "description": "the input the error is about, if one"}),
    "Status": _obj(["status"], status=STR, statusMessage=STR),
    "TokenRequest": _obj(["grant_type"], grant_type={"enum": ["client_credentials", "password"]},
                         client_id=STR, client_secret=STR, username=STR, password=STR),
    "Token": _obj(["access_token", "token_type", "expires_in"], access_token=STR,
                  token_type={"const": "bearer"}, expires_in=INT),
    "RevokeToken": _obj(["token"], token=STR),
    "Account": _obj(["name", "domain", "status", "createdBy", "approvedBy"], name=STR,
                    domain=STR, reservation=STR, status={"enum": ["ACTIVE", "PENDING"]},
                    exportCategory={"enum": ["A", "B", "C", "D"]},
                    createdBy=STR, createdAt=STR, approvedBy=NSTR, activatedAt=NSTR),
    "ExportCategory": _obj(["exportCategory"], exportCategory={"enum": ["A", "B", "C", "D"]}),
    "Accounts": _list_of("accounts", "Account"),
    "AccountCreate": _obj(["name", "domain"], name=STR, domain=STR, pending=BOOL),
    "HeldLine": _obj(["lineId", "domain", "virtualAccount", "tag", "type", "quantity"],
                     lineId=STR, domain=STR, virtualAccount=NSTR, tag=STR, displayName=STR,
                     type=STR, quantity=INT, startDate=DATE, endDate=DATE, subscriptionId=STR,
                     exportControlled=BOOL, heldSince=STR),
    "HeldLines": _obj(["heldLines", "totalCount"], heldLines={
        "type": "array", "items": _ref("HeldLine")}, totalCount=INT, status=STR),
    "VirtualAccount": _obj(["name", "description", "parent"], name=STR, description=STR,
                           parent=NSTR, depth=INT, default=BOOL),
    "VirtualAccounts": _list_of("virtualAccounts", "VirtualAccount"),
    "VirtualAccountCreate": _obj(["name"], name=STR, description=STR, parent=STR),
    "LicenseQuery": _obj([], virtualAccounts={"type": "array", "items": STR}, tags=TAGS,
                         **PAGE),
    "LicenseDetail": _obj(["licenseType", "quantity", "startDate", "endDate", "subscriptionId"],
                          licenseType=STR, quantity=INT, startDate=DATE, endDate=DATE,
                          subscriptionId=STR, active=BOOL),
    "License": _obj(["license", "virtualAccount", "quantity", "inUse", "reserved", "available",
                     "status", "licenseDetails"],
                    license=STR, account=STR, virtualAccount=STR, quantity=INT, inUse=INT,
                    reserved=INT, available=INT,
                    status={"enum": ["In Compliance", "Out Of Compliance"]},
                    licenseDetails={"type": "array", "items": _ref("LicenseDetail")},
                    tags=TAGS),
    "Licenses": _obj(["totalRecords", "licenses"], totalRecords=INT,
                     licenses={"type": "array", "items": _ref("License")}),
    "Subscription": _obj(["license", "virtualAccount", "licenseType", "quantity", "startDate",
                          "endDate", "subscriptionId", "status"],
                         license=STR, virtualAccount=STR, licenseType=STR, quantity=INT,
                         startDate=DATE, endDate=DATE, subscriptionId=STR,
                         status={"enum": ["ACTIVE", "INACTIVE"]}),
    "Subscriptions": _obj(["totalRecords", "licenseSubscriptions"], totalRecords=INT,
                          licenseSubscriptions={"type": "array", "items": _ref("Subscription")}),
    "TransferRequest": _obj(["licenses"], licenses={"type": "array", "items": _obj(
        ["license", "quantity", "targetVirtualAccount"], license=STR, quantity=INT,
        targetVirtualAccount=STR, targetAccount=STR, precedence=STR)}),
    "TransferResult": _obj(["status", "licenses"], status=STR, licenses={
        "type": "array", "items": _obj(["license", "quantity", "virtualAccount",
                                        "targetVirtualAccount", "available"],
                                       license=STR, quantity=INT, virtualAccount=STR,
                                       targetVirtualAccount=STR, targetAccount=STR,
                                       available=INT)}),
    "ReserveRequest": _obj(["reservationRequests"], reservationRequests={
        "type": "array", "items": _obj(
            ["reservationCode"], reservationCode=STR,
            reservationType={"enum": ["SPECIFIC", "UNIVERSAL"]},
            licenses={"type": "array", "items": _obj(["entitlementTag", "quantity"],
                                                     entitlementTag=STR, quantity=INT,
                                                     precedence=STR)})}),
    "ReserveResult": _obj(["status", "authorizationCodes"], status=STR, authorizationCodes={
        "type": "array", "items": _obj(["authorizationCode", "reservationCode", "status"],
                                       authorizationCode=STR, reservationCode=STR, status=STR)}),
    "ReservationUpdate": _obj(["licenses"], licenses={"type": "array", "items": _obj(
        ["entitlementTag", "quantity"], entitlementTag=STR, quantity=INT)}),
    "ReservationConfirm": _obj(["confirmationCode"], confirmationCode=STR),
    "ReservationReturn": _obj(["returnCode"], returnCode=STR),
    "ReservationResult": _obj(["status", "reservation"], status=STR, reservation=_obj(
        ["udi", "reservationType", "status", "serial", "confirmedSerial"], udi=STR,
        reservationType=STR, status=STR, serial=INT, confirmedSerial=INT,
        authorizationCode=STR)),
    "User": _obj(["userName", "systemAdmin", "disabled", "roles"], userName=STR,
                 systemAdmin=BOOL, disabled=BOOL, mustChangePassword=BOOL,
                 roles={"type": "array", "items": _obj(["account", "role"], account=STR,
                                                       virtualAccount=NSTR, role=ROLE)}),
    "Users": _list_of("users", "User"),
    "UserCreate": _obj(["userName", "password"], userName=STR, password=STR, systemAdmin=BOOL),
    "PasswordReset": _obj(["password"], password=STR),
    "PasswordChange": _obj(["oldPassword", "newPassword"], oldPassword=STR, newPassword=STR),
    "Me": _obj(["kind", "name", "systemAdmin"], kind=STR, name=STR, systemAdmin=BOOL),
    "Grant": _obj(["userName", "role", "virtualAccount"], userName=STR, role=ROLE,
                  virtualAccount=NSTR),
    "Grants": _list_of("users", "Grant"),
    "GrantRequest": _obj(["userName", "role"], userName=STR, role=ROLE, virtualAccount=STR),
    "Request": _obj(["id", "status", "createdAt"], id=INT,
                    status={"enum": ["PENDING", "APPROVED", "DENIED"]}, note=STR,
                    createdAt=STR, decidedBy=NSTR, role=STR, name=STR, domain=STR),
    "AccessRequests": _list_of("accessRequests", "Request"),
    "AccessRequestCreate": _obj(["role"], role={"enum": ["account_admin", "account_user",
                                                         "account_viewer"]}, note=STR),
    "AccountRequests": _list_of("accountRequests", "Request"),
    "AccountRequestCreate": _obj(["name", "domain"], name=STR, domain=STR, note=STR),
    "RequestedHeldLines": _obj(["accountRequest", "heldLines", "totalCount"],
                               accountRequest=_ref("Request"), heldLines={
                                   "type": "array", "items": _ref("HeldLine")}, totalCount=INT),
    "ApiClient": _obj(["clientId", "role", "revoked"], clientId=STR, role=ROLE,
                      description=STR, createdBy=STR, createdAt=STR, revoked=BOOL,
                      clientSecret={"type": "string", "description": "only when created"}),
    "ApiClients": _list_of("apiClients", "ApiClient"),
    "ApiClientCreate": _obj(["role"], role={"enum": ["account_admin", "account_user",
                                               "account_viewer"]}, description=STR),
    "Event": _obj(["id", "at", "actor", "action", "target", "details", "hash"], id=INT, at=STR,
                  actor=STR, action=STR, target=STR, details={"type": "object"}, hash=STR),
    "Events": _list_of("events", "Event"),
    "TokenCreate": _obj([], expiresAfterDays={"type": "integer", "minimum": 1, "maximum": 3650},
                        description=STR, exportControlled={"enum": ["Allowed", "Not Allowed"]},
                        numberofUses={"type": "integer", "minimum": 1}),
    "RegistrationToken": _obj(["token", "description", "expirationDate", "usesRemaining",
                               "exportControlled", "createdBy", "status"],
                              token=STR, description=STR, expirationDate=STR,
                              usesRemaining={"type": ["integer", "null"]},
                              exportControlled={"enum": ["Allowed", "Not Allowed"]},
                              createdBy=STR, createdDate=STR,
                              status={"enum": ["ACTIVE", "EXPIRED", "REVOKED", "USED_UP"]}),
    "TokenInfo": _obj(["tokenInfo"], tokenInfo=_ref("RegistrationToken")),
    "RegistrationTokens": _list_of("tokens", "RegistrationToken"),
    "TokenRevoke": _obj(["tokens"], tokens={"type": "array", "items": STR, "minItems": 1}),
    "Sudi": _obj(["udiPid", "udiSerialNumber"], udiPid=STR, udiSerialNumber=STR, udiVid=NSTR,
                 uuid=NSTR),
    "Device": _obj(["hostName", "productTagName", "sudi", "status", "registrationDate",
                    "lastContactDate", "licenseUsage"],
                   hostName=NSTR, productTagName=NSTR, sudi=_ref("Sudi"), virtualAccount=STR,
                   status=STR, registrationDate=NSTR, lastContactDate=NSTR,
                   licenseUsage={"type": "array", "items": _obj(["license", "quantity"],
                                                                license=STR, quantity=INT)},
                   evaluation={"oneOf": [{"type": "null"}, _obj(
                       ["state", "startedAt", "endsAt", "daysLeft", "text"],
                       state={"enum": ["in evaluation", "evaluation expired",
                                       "evaluation ended"]},
                       startedAt=STR, endsAt=STR, daysLeft=INT, text=STR)]},
                   tags=TAGS),
    "ClassicLicense": _obj(["pak", "sku", "license", "virtualAccount", "quantity", "converted",
                            "pending", "unconverted", "convertible", "deviceUdi"],
                           pak=STR, sku=STR, license=STR, virtualAccount=NSTR, quantity=INT,
                           converted=INT, pending=INT, unconverted=INT, convertible=INT,
                           deviceUdi=NSTR),
    "ClassicLicenses": _obj(["totalRecords", "classicLicenses"], totalRecords=INT,
                            classicLicenses={"type": "array", "items": _ref("ClassicLicense")}),
    "ClassicTransfer": _obj(["pak", "sku", "targetVirtualAccount"], pak=STR, sku=STR,
                            targetVirtualAccount=STR),
    "ClassicTransferResult": _obj(["status", "classicLicense"], status=STR,
                                  classicLicense=_ref("ClassicLicense")),
    "ClassicConvert": _obj(["pak", "sku", "quantity"], pak=STR, sku=STR,
                           quantity={"type": "integer", "minimum": 1}, virtualAccount=STR),
    "Conversion": _obj(["requestId", "pak", "sku", "quantity", "virtualAccount", "origin",
                        "device", "status", "requestedBy", "requestedAt", "completedAt",
                        "lineId", "reason"],
                       requestId=STR, pak=STR, sku=STR, quantity=INT, virtualAccount=STR,
                       origin={"enum": ["operator", "device"]}, device=NSTR,
                       status={"enum": ["Pending", "Completed", "Rejected"]}, requestedBy=STR,
                       requestedAt=STR, completedAt=NSTR, lineId=NSTR, reason=NSTR),
    "ConvertResult": _obj(["status", "conversion"], status=STR, conversion=_ref("Conversion")),
    "Conversions": _obj(["totalRecords", "conversions"], totalRecords=INT,
                        conversions={"type": "array", "items": _ref("Conversion")}),
    "DeviceQuery": _obj([], evaluation={"enum": ["active", "expired"]}, tags=TAGS, **PAGE),
    "Devices": _obj(["totalRecords", "devices"], totalRecords=INT,
                    devices={"type": "array", "items": _ref("Device")}),
    "DeviceTransfer": _obj(["productInstances"], productInstances={
        "type": "array", "minItems": 1, "items": _obj(
            ["sudi", "targetVirtualAccount"], sudi=_ref("Sudi"), productTagName=STR,
            targetVirtualAccount=STR, targetAccount={
                "type": "string", "description": "another account: a move, which needs "
                "account admin rights in both"})}),
    "DeviceRemove": _obj([], **{name: {"type": "array", "items": _obj(
        ["sudi"], sudi=_ref("Sudi"), productTagName=STR)} for name in (
        "productInstancesRemoveRequests", "productInstacesRemoveRequests")}),
    "UsageImport": _obj(["reports", "new", "known", "devices", "tags", "skipped", "refused"],
                        account=STR, virtualAccount=STR, files={"type": "array", "items": STR},
                        reports=INT, new=INT, known=INT, devices={"type": "object"},
                        tags={"type": "object"}, skipped={"type": "object"},
                        refused={"type": "object"}, flagged={"type": "array"},
                        dryRun=BOOL),
    "DeviceResult": _obj(["status", "productInstances"], status=STR, productInstances={
        "type": "array", "items": _obj(["sudi", "status"], sudi={"type": "object"},
                                       productTagName=NSTR, virtualAccount=STR,
                                       targetVirtualAccount=STR, targetAccount=STR,
                                       status=STR)}),
    "Tags": _obj(["tags"], tags=TAGS),
    "ReservationQuery": _obj([], status={"enum": ["Reserved", "Returned", "Removed"]},
                             tags=TAGS, **PAGE),
    "Reservations": _obj(["reservations"], reservations={"type": "array", "items": _obj(
        ["udi", "kind", "status", "account", "virtualAccount", "licenses", "tags"], udi=STR,
        pid=STR, sn=STR, kind={"enum": ["SLR", "PLR"]}, status=STR, account=STR,
        virtualAccount=STR, serial=INT, confirmedSerial=INT, awaitingConfirmation=BOOL,
        issuedAt=STR, createdAt=STR, closedAt=NSTR, closeReason=NSTR,
        licenses={"type": "array"}, tags=TAGS)}),
    "Alert": _obj(["messageType", "severity", "source", "message"], messageType=STR,
                  severity={"enum": ["Major", "Minor"]}, source={"enum": ["ACCOUNT", "SATELLITE"]},
                  message=STR, raisedAt=STR, updatedAt=STR, clearedAt=NSTR),
    "Alerts": _list_of("alerts", "Alert"),
    "AlertQuery": _obj([], includeCleared=BOOL),
    "HoldingLine": _obj(["lineId", "holdingAccount", "license", "quantity", "deposited",
                         "available"], lineId=STR, holdingAccount=STR, account=STR, license=STR,
                        licenseName=STR, licenseType=STR, quantity=INT, deposited=INT,
                        available=INT, startDate=DATE, endDate=DATE, subscriptionId=STR,
                        exportControlled=BOOL, receivedAt=STR),
    "HoldingLines": _obj(["holdingLines", "totalRecords"], totalRecords=INT,
                         holdingLines={"type": "array", "items": _ref("HoldingLine")}),
    "HoldingDeposit": _obj(["account", "virtualAccount"], account=STR, virtualAccount=STR,
                           quantity={**ID, "description": "default: all that is left"}),
    "HoldingDeposited": _obj(["lineId", "account", "virtualAccount", "license", "quantity",
                              "left"], lineId=STR, account=STR, virtualAccount=STR,
                             license=STR, quantity=INT, left=INT),
    "DepositRule": _obj(["id", "position", "match", "pattern", "virtualAccount"], id=ID,
                        position=INT, match={"enum": ["tag", "name"]}, pattern=STR,
                        virtualAccount=STR),
    "DepositRules": _obj(["account", "depositRules"], account=STR,
                         depositRules={"type": "array", "items": _ref("DepositRule")}),
    "DepositRuleCreate": _obj(["match", "pattern", "virtualAccount"],
                              match={"enum": ["tag", "name"]}, pattern=STR, virtualAccount=STR,
                              position={**ID, "description": "1 is tried first; default last"}),
    "DepositRuleMove": _obj(["position"], position=ID),
    "SyncStatus": _obj(["registration", "networkMode", "pendingEvents"], registration=STR,
                       networkMode=BOOL, centralUrl=NSTR, intervalHours={"type": "number"},
                       lastSuccess=NSTR, lastExchange=NSTR, lastFailure=NSTR, lastFailureReason=NSTR,
                       consecutiveFailures=INT, nextRun=NSTR, lastImport=NSTR,
                       lastResponseSerial=INT, lastSequence=INT, ackedThrough=INT,
                       pendingEvents=INT),
}


def _op(summary: str, response: str, request: str | None = None, auth: bool = True,
        query: tuple[str, ...] = ()) -> dict[str, Any]:
    """One operation. Success is 200 whatever it did, creations included, as On-Prem answers."""
    errors = {code: {"description": text, "content": {"application/json": {
        "schema": _ref("Error")}}} for code, text in (
        ("400", "bad input"), ("401", "no or bad bearer token"),
        ("403", "not allowed"), ("404", "not found (or not visible to the caller)"),
        ("409", "conflict"), ("422", "a code or signature does not verify"),
        ("429", "too many requests"))}
    op: dict[str, Any] = {"summary": summary, "responses": {
        "200": {"description": "success",
                "content": {"application/json": {"schema": _ref(response)}}}, **errors}}
    if request is not None:
        content = {"application/json": {"schema": _ref(request)}}
        if not auth:
            content["application/x-www-form-urlencoded"] = {"schema": _ref(request)}
        op["requestBody"] = {"required": False, "content": content}
    if not auth:
        op["security"] = []
    if query:
        op["parameters"] = [{"name": q, "in": "query", "required": False,
                             "schema": INT if q in ("limit", "offset", "before") else STR}
                            for q in query]
    return op


def _report_op(summary: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """A streamed download (see docs/reports.md): `kind` in the path, filters in the query."""
    op = _op(summary, "Status", query=(*extra, "format", "va", "status", "q", "tag", "user",
                                        "action", "since", "until", "cleared"))
    op["responses"]["200"] = {"description": "the report, streamed", "content": {
        "text/csv": {"schema": STR}, "application/json": {"schema": {"type": "object"}}}}
    return op


A = "/api/v1/accounts/{account}"
V = A + "/virtual-accounts/{va}"
_TOKEN = _op("Get a bearer token (client_credentials or password grant); the fields may also "
             "come in the query string, as On-Prem's examples send them", "Token",
             "TokenRequest", auth=False,
             query=("grant_type", "client_id", "client_secret", "username", "password"))
_ACCOUNTS = _op("Accounts the caller may see", "Accounts")
_LICENSES = _op("License counters of the account (limit -1: all; tag, repeatable: only pools "
                "carrying every one)", "Licenses", "LicenseQuery",
                query=("limit", "offset", "virtualAccounts", "tag"))
_DEVICES = _op("Devices of the virtual account (limit -1: all; tag, repeatable: only devices "
               "carrying every one; evaluation=active|expired: those in evaluation, or whose "
               "evaluation expired)", "Devices", query=("limit", "offset", "tag", "evaluation"))
_RESERVATIONS = _op("Reservations of the account, oldest first (tag, repeatable: only those "
                    "carrying every one)", "Reservations", "ReservationQuery",
                    query=("limit", "offset", "status", "tag"))


def _tag_ops(what: str) -> dict[str, dict[str, Any]]:
    return {"get": _op(f"The tags of {what}", "Tags"),
            "post": _op(f"Put tags on {what} (at most 20); answers all its tags", "Tags",
                        "Tags")}


def _untag_op(what: str) -> dict[str, Any]:
    return {"post": _op(f"Take tags off {what}; answers the tags left", "Tags", "Tags")}


_SUBS = _op("License lines (subscriptions) of the account", "Subscriptions", "LicenseQuery",
            query=("limit", "offset", "virtualAccounts"))
def _usage_upload() -> dict[str, Any]:
    op = _op("Import Cisco SLUP usage files or offline-upload archives into the virtual "
             "account (multipart files, or the raw file as the body); dryRun=true records "
             "nothing", "UsageImport", query=("dryRun", "filename"))
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    op["requestBody"] = {"required": True, "content": {
        "multipart/form-data": {"schema": _obj([], file=binary)},
        "application/xml": {"schema": STR}, "application/octet-stream": {"schema": binary}}}
    return op


def _ack_download() -> dict[str, Any]:
    op = _op("The latest ACK file of a SLUP device of the virtual account, for "
             "`license smart import`", "Status", query=("udi",))
    op["responses"]["200"] = {"description": "the ACK file",
                              "content": {"application/xml": {"schema": STR}}}
    return op


PATHS: dict[str, dict[str, Any]] = {
    "/oauth/token": {"post": _TOKEN},
    "/oauth/revoke": {"post": _op("Revoke a bearer token", "Status", "RevokeToken", auth=False)},
    "/api/v1/accounts": {"get": _ACCOUNTS,
                         "post": _op("Create an account (Active, or Pending with pending=true)",
                                     "Accounts", "AccountCreate")},
    A: {"get": _op("The account: its status, who created and who approved it", "Accounts")},
    A + "/activate": {"post": _op("Activate a Pending account (approving its request if a user "
                                  "asked for it); its held lines are delivered", "Accounts")},
    A + "/held-licenses": {"get": _op("Lines Central sent that are held until the account is "
                                      "Active (limit -1: all)", "HeldLines",
                                      query=("limit", "offset"))},
    "/api/v1/held-licenses": {"get": _op("Lines held for domains no account answers to "
                                         "(system administrators; limit -1: all)", "HeldLines",
                                         query=("limit", "offset"))},
    "/api/v1/upstream_satellites/accounts": {"post": _ACCOUNTS},
    A + "/export-category": {"post": _op(
        "Set the account's export-control category (system administrators; C and D may not "
        "use export-controlled functionality)", "Accounts", "ExportCategory")},
    A + "/virtual-accounts": {
        "get": _op("Virtual accounts the caller may see", "VirtualAccounts"),
        "post": _op("Create a virtual account, or list them when no name is given",
                    "VirtualAccounts", "VirtualAccountCreate")},
    V + "/delete": {"post": _op("Delete an empty virtual account", "Status")},
    A + "/licenses": {"get": _LICENSES, "post": _LICENSES},
    A + "/license-subscriptions": {"get": _SUBS, "post": _SUBS},
    V + "/licenses/transfer": {"post": _op("Transfer licenses to other virtual accounts",
                                           "TransferResult", "TransferRequest")},
    A + "/classic-licenses": {"get": _op(
        "Classic (PAK) licenses of the account the caller may see (those of no virtual "
        "account are the account's, visible to all)", "ClassicLicenses",
        query=("virtualAccount",))},
    V + "/classic-licenses": {"get": _op("Classic (PAK) licenses of the virtual account",
                                         "ClassicLicenses")},
    A + "/classic-licenses/transfer": {"post": _op(
        "Move a classic license to another virtual account (transfer right on both)",
        "ClassicTransferResult", "ClassicTransfer")},
    A + "/classic-licenses/convert": {"post": _op(
        "Ask Central to convert classic licenses to Smart Licensing; Pending until the answer "
        "comes back with a sync", "ConvertResult", "ClassicConvert")},
    A + "/classic-conversions": {"get": _op(
        "Conversion requests of the account, newest first", "Conversions",
        query=("virtualAccount",))},
    A + "/reservations": {"get": _RESERVATIONS, "post": _RESERVATIONS},
    V + "/licenses/{license}/tags": _tag_ops("a license pool (one license tag in the VA)"),
    V + "/licenses/{license}/tags/remove": _untag_op("a license pool"),
    A + "/devices/{udi}/tags": _tag_ops("a product instance (udi: PID:<pid>,SN:<serial>)"),
    A + "/devices/{udi}/tags/remove": _untag_op("a product instance"),
    A + "/reservations/{udi}/tags": _tag_ops("a reservation (udi: PID:SN)"),
    A + "/reservations/{udi}/tags/remove": _untag_op("a reservation"),
    A + "/reservations/{udi}/update": {"post": _op(
        "A new authorization code for a reservation's new counts", "ReservationResult",
        "ReservationUpdate")},
    A + "/reservations/{udi}/confirm": {"post": _op(
        "Accept the device's confirmation code", "ReservationResult", "ReservationConfirm")},
    A + "/reservations/return": {"post": _op(
        "Close the reservation a device's return code names", "ReservationResult",
        "ReservationReturn")},
    V + "/reserve-licenses": {"post": _op("Reserve licenses for offline devices (SLR/PLR)",
                                          "ReserveResult", "ReserveRequest")},
    "/api/v1/users": {"get": _op("Users (system administrators)", "Users"),
                      "post": _op("Create a user", "Users", "UserCreate")},
    "/api/v1/users/{username}/disable": {"post": _op("Disable a user", "Users")},
    "/api/v1/users/{username}/enable": {"post": _op("Enable a user", "Users")},
    "/api/v1/users/{username}/reset-password": {
        "post": _op("Set a user's password (to be changed at sign-in)", "Users",
                    "PasswordReset")},
    "/api/v1/me": {"get": _op("Who the bearer token acts as", "Me")},
    "/api/v1/me/password": {"post": _op("Change one's own password", "Status",
                                        "PasswordChange")},
    A + "/users": {"get": _op("Who holds which role in the account", "Grants"),
                   "post": _op("Grant a role (without userName: list)", "Grants",
                               "GrantRequest")},
    A + "/users/revoke": {"post": _op("Revoke a role", "Status", "GrantRequest")},
    A + "/access-requests": {
        "get": _op("Access requests of the account (its admins)", "AccessRequests"),
        "post": _op("Ask for a role on the account (without a role: list)", "AccessRequests",
                    "AccessRequestCreate")},
    "/api/v1/access-requests/{request_id}/approve": {
        "post": _op("Approve an access request", "AccessRequests")},
    "/api/v1/access-requests/{request_id}/deny": {
        "post": _op("Deny an access request", "AccessRequests")},
    "/api/v1/account-requests": {
        "get": _op("Account requests the caller made or may decide", "AccountRequests"),
        "post": _op("Ask for a new account (without a domain: list)", "AccountRequests",
                    "AccountRequestCreate")},
    "/api/v1/account-requests/{request_id}/approve": {
        "post": _op("Approve an account request (activates the Pending account)",
                    "AccountRequests")},
    "/api/v1/account-requests/{request_id}/deny": {
        "post": _op("Deny an account request", "AccountRequests")},
    "/api/v1/account-requests/{request_id}/held-licenses": {
        "get": _op("Lines Central holds for the domain an account request asks for (those who "
                   "may decide it; limit -1: all)", "RequestedHeldLines",
                   query=("limit", "offset"))},
    A + "/api-clients": {
        "get": _op("API clients of the account", "ApiClients"),
        "post": _op("Create an API client (its secret is shown only now)", "ApiClients",
                    "ApiClientCreate")},
    A + "/api-clients/{client_id}/revoke": {
        "post": _op("Revoke an API client and its tokens", "ApiClients")},
    V + "/tokens": {
        "get": _op("Registration tokens of the virtual account, with their values", "RegistrationTokens"),
        "post": _op("Create a registration token", "TokenInfo", "TokenCreate")},
    V + "/tokens/revoke": {"post": _op("Revoke registration tokens (by value)", "Status",
                                       "TokenRevoke")},
    V + "/devices": {"get": _DEVICES, "post": _op(
        "Devices of the virtual account (limit -1: all), paged by the body", "Devices",
        "DeviceQuery")},
    V + "/devices/transfer": {"post": _op("Move devices, and what they use, to other virtual "
                                          "accounts", "DeviceResult", "DeviceTransfer")},
    V + "/devices/remove": {"post": _op("Remove devices (their licenses return to the pool)",
                                        "DeviceResult", "DeviceRemove")},
    V + "/usage-reports": {"post": _usage_upload()},
    V + "/usage-reports/ack": {"get": _ack_download()},
    A + "/alerts": {"get": _op("Open alerts of the account and of the appliance", "Alerts",
                               query=("includeCleared",)),
                    "post": _op("Open alerts of the account and of the appliance", "Alerts",
                                "AlertQuery")},
    "/api/v1/holding-lines": {"get": _op(
        "Lines waiting in the partner holding account (system and account administrators)",
        "HoldingLines")},
    "/api/v1/holding-lines/{line}/deposit": {"post": _op(
        "Deposit a holding line (or part of it) into a virtual account (administrators of "
        "that account)", "HoldingDeposited", "HoldingDeposit")},
    A + "/deposit-rules": {
        "get": _op("Deposit rules of the account, in the order they are tried", "DepositRules"),
        "post": _op("Add a deposit rule for lines that name no virtual account", "DepositRule",
                    "DepositRuleCreate")},
    A + "/deposit-rules/{rule_id}": {"delete": _op(
        "Remove a deposit rule (the lines it placed stay)", "Status")},
    A + "/deposit-rules/{rule_id}/move": {"post": _op(
        "Change where a deposit rule is tried", "DepositRule", "DepositRuleMove")},
    A + "/sync-status": {"get": _op("Sync status with Central (account admins)", "SyncStatus")},
    "/api/v1/sync-status": {"get": _op("Sync status with Central (system administrators)",
                                       "SyncStatus")},
    "/api/v1/audit": {"get": _op("Audit events, newest first", "Events",
                                 query=("account", "user", "action", "q", "since", "until",
                                        "limit", "before"))},
    A + "/reports/{kind}": {"get": _report_op("A list of the account as a CSV or JSON download")},
    "/api/v1/reports/{kind}": {"get": _report_op(
        "A list of every account the caller sees as a CSV or JSON download", ("account",))},
}


def _with_path_parameters(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path, ops in paths.items():
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        params = [{"name": n, "in": "path", "required": True,
                   "schema": ID if n in ("request_id", "rule_id") else STR} for n in names]
        out[path] = {**({"parameters": params} if params else {}), **ops}
    return out


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Satellite management API", "version": __version__,
                 "description": "On-Prem compatible REST API; see docs/api.md."},
        # Every path is served as named and again under /backend, as On-Prem serves it.
        "servers": [{"url": "/"}, {"url": ON_PREM_PREFIX}],
        "security": [{"bearer": []}],
        "paths": _with_path_parameters(PATHS),
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Any:
    return jsonify(document())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
