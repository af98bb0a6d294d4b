#!/usr/bin/env python3
"""Offline reference re-implementation of
`aws cloudtrail verify-query-results --local-export-path DIR` (AWS CLI v2).

Mirrors awscli/customizations/cloudtrail/verifyqueryresults.py and
awscli/customizations/cloudtrail/utils.py (aws-cli branch v2, commit
73fb33bb171ace3e9eaa03308f76e5de50c21393): same checks, same order, same
exception texts.  The only substitution: the CloudTrail ListPublicKeys call is
replaced by reading --public-key-file, a JSON document shaped like the
ListPublicKeys response as printed by the CLI:

  {"PublicKeyList": [{"Value": "<base64 of PKCS#1 RSAPublicKey DER>",
                      "ValidityStartTime": "...", "ValidityEndTime": "...",
                      "Fingerprint": "..."}]}

The CLI asks the service for keys with StartTime=queryCompleteTime and
EndTime=queryCompleteTime+20 days; the *service* does the time filtering (the
CLI checks no validity window itself).  To emulate that offline, keys whose
ValidityStartTime/ValidityEndTime (when present) do not overlap that range are
dropped; pass --no-time-filter to use the list as-is (what the CLI would do
with a mocked response such as the aws-cli functional test's).

Error output emulates the CLI's error handler: since aws-cli 2.34.0 errors go
to stderr as "\\naws: [ERROR]: <message>\\n"; with --legacy-errors the
pre-2.34 form "\\n<message>\\n" is used.  Exit codes: 0 success, 252 parameter
validation, 255 any other failure (the CLI's GENERAL_ERROR_RC).

Requires: cryptography, python-dateutil.
"""
import argparse
import base64
import binascii
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from os import path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from dateutil import parser as date_parser
from dateutil import tz

SIGN_FILE_NAME = "result_sign.json"  # verifyqueryresults.py:18
DATE_FORMAT = "%Y%m%dT%H%M%SZ"  # utils.py:18

PARAM_VALIDATION_ERROR_RC = 252  # awscli/constants.py
GENERAL_ERROR_RC = 255


# --- exceptions (verifyqueryresults.py:34-47) -------------------------------
class ValidationError(Exception):
    def __init__(self, message):
        super().__init__(f"ValidationError: {message}")


class InformationCollectionError(ValueError):
    def __init__(self, message):
        super().__init__(f"InformationCollectionError: {message}")


class ParamValidationError(Exception):
    pass


class CrtKeyLoadError(Exception):
    """Stands in for awscrt.exceptions.AwsCrtError raised by
    RSA.new_public_key_from_der_data on non-PKCS#1 DER.  AwsCrtError is built
    with keyword arguments only, so str(e) == '' -- the CLI prints an empty
    error message.  It is NOT a ValueError, so it escapes the
    `except ValueError` at verifyqueryresults.py:93."""

    def __str__(self):
        return ""


# --- utils.py:45-49 ----------------------------------------------------------
def parse_date(date_string):
    try:
        return date_parser.parse(date_string)
    except ValueError:
        raise ValueError("Unable to parse date value: %s" % date_string)


def normalize_date(date):  # utils.py:40-42 (replace, not convert!)
    return date.replace(tzinfo=tz.tzutc())


def format_date(date):  # utils.py:35-37
    return date.strftime(DATE_FORMAT)


# --- offline stand-in for PublicKeyProvider (utils.py:52-100) ----------------
def _to_aware(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    d = date_parser.parse(value)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


class FilePublicKeyProvider:
    def __init__(self, key_file, time_filter=True):
        self._key_file = key_file
        self._time_filter = time_filter

    def _list_public_keys(self, start_time, end_time):
        # Read lazily: the CLI calls ListPublicKeys only after hashing files.
        with open(self._key_file) as f:
            self._keys = json.load(f)["PublicKeyList"]
        # Emulates the *server-side* filtering of ListPublicKeys.
        if not self._time_filter:
            return self._keys
        start = _to_aware(start_time) if not isinstance(start_time, datetime) \
            else (start_time if start_time.tzinfo else start_time.replace(tzinfo=timezone.utc))
        end = _to_aware(end_time)
        out = []
        for key in self._keys:
            vs = _to_aware(key.get("ValidityStartTime"))
            ve = _to_aware(key.get("ValidityEndTime"))
            if vs is not None and vs > end:
                continue
            if ve is not None and ve < start:
                continue
            out.append(key)
        return out

    def get_public_key(self, signature_generate_time, public_key_fingerprint):
        # utils.py:86-91
        search_end_date = format_date(
            normalize_date(signature_generate_time + timedelta(days=20))
        )
        public_keys_in_range = self._list_public_keys(
            signature_generate_time, search_end_date
        )
        # utils.py:93-95: plain string equality on the service's Fingerprint
        for key in public_keys_in_range:
            if key["Fingerprint"] == public_key_fingerprint:
                return key["Value"]
        # utils.py:97-100
        raise RuntimeError(
            "No public keys found for key with fingerprint: %s"
            % public_key_fingerprint
        )


# --- Sha256RsaSignatureValidator (verifyqueryresults.py:50-96) ---------------
def _load_pkcs1_public_key(der):
    """Accept exactly what aws-c-cal's d2i_RSAPublicKey accepts: a PKCS#1
    RSAPublicKey DER (not SubjectPublicKeyInfo)."""
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError):
        raise CrtKeyLoadError()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CrtKeyLoadError()
    pkcs1 = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    if not der.startswith(pkcs1):  # SPKI input would not start with PKCS#1
        raise CrtKeyLoadError()
    return key


class Sha256RsaSignatureValidator:
    def validate(self, public_key_base64, sign_file):
        public_key = self._load_public_key(public_key_base64)
        signature_bytes = binascii.unhexlify(sign_file["hashSignature"])  # :67
        try:
            # :68-74  PKCS1_5_SHA256 over sha256(string_to_sign)
            public_key.verify(
                signature_bytes,
                self._create_string_to_sign(sign_file),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise ValidationError("Invalid signature in sign file")  # :79

    def _create_string_to_sign(self, sign_file):  # :81-87
        hash_list = []
        for file_info in sign_file["files"]:
            hash_list.append(file_info["fileHashValue"])
        string_to_sign = " ".join(hash_list)
        return string_to_sign.encode()

    def _load_public_key(self, public_key_base64):  # :89-96
        try:
            decoded_key = base64.b64decode(public_key_base64)
        except ValueError:
            raise ValidationError(
                f"Sign file invalid, unable to load PKCS #1 key: {public_key_base64}"
            )
        return _load_pkcs1_public_key(decoded_key)


# --- LocalSignFileProvider (verifyqueryresults.py:110-130) -------------------
def provide_sign_file(local_path_prefix):
    with open(path.join(local_path_prefix, SIGN_FILE_NAME)) as f:
        sign_file_str = f.read()
    try:
        return json.loads(sign_file_str)
    except json.JSONDecodeError as e:
        raise InformationCollectionError(
            f"Unable to load result_sign.json file, due to {str(e)}"
        )


# --- LocalExportFilesHashValidator (verifyqueryresults.py:167-231) -----------
def _validate_hash_value(read_stream, file_name, expected_hash):
    rolling_hash = hashlib.sha256()
    for chunk in iter(lambda: read_stream.read(2048), b""):
        rolling_hash.update(chunk)
    computed_hash = rolling_hash.hexdigest()
    if computed_hash != expected_hash:
        raise ValidationError(
            f"File {file_name} has inconsistent hash value with hash value recorded"
            f" in sign file, hash value in sign file is {expected_hash} ,"
            f" but get {computed_hash}"
        )


def _validate_number_of_files(sign_file):
    try:
        if len(sign_file["files"]) == 0:
            raise ValidationError("No export file was found in sign file.")
    except TypeError:
        raise ValidationError("Invalid sign file provided.")


def validate_export_files(local_path_prefix, sign_file):
    _validate_number_of_files(sign_file)
    for file_info in sign_file["files"]:
        with open(
            path.join(local_path_prefix, file_info["fileName"]), "rb"
        ) as export_file:
            _validate_hash_value(
                export_file, file_info["fileName"], file_info["fileHashValue"]
            )


# --- CloudTrailVerifyQueryResult (verifyqueryresults.py:311-372) -------------
def handle_args(args):
    if not args.local_export_path and not args.s3_bucket:
        raise ParamValidationError(
            "Require parameter --s3-bucket or --local-export-path."
        )
    if args.local_export_path and (args.s3_bucket or args.s3_prefix):
        raise ParamValidationError(
            "Parameter --local-export-path can not be specified with"
            " parameter --s3-bucket nor --s3-prefix."
        )
    if not args.local_export_path:
        raise NotImplementedError("S3 mode is not implemented by this offline reference")


def run(args):
    handle_args(args)
    if not args.public_key_file:
        raise NotImplementedError("--public-key-file is required (replaces ListPublicKeys)")
    provider = FilePublicKeyProvider(args.public_key_file, not args.no_time_filter)
    sign_file = provide_sign_file(args.local_export_path)  # :361
    validate_export_files(args.local_export_path, sign_file)  # :362
    public_key = provider.get_public_key(  # :364-367
        parse_date(sign_file["queryCompleteTime"]),
        sign_file["publicKeyFingerprint"],
    )
    Sha256RsaSignatureValidator().validate(public_key, sign_file)  # :368
    sys.stdout.write("Successfully validated sign and query result files\n")  # :370-372
    return 0


def _write_error(message, legacy):
    # awscli/errorformat.py (>= 2.34.0): "\naws: [ERROR]: <msg.strip()>\n"
    sys.stderr.write("\n")
    if legacy:
        sys.stderr.write(message)
    else:
        message = message.strip() if message else ""
        sys.stderr.write(f"aws: [ERROR]: {message}" if message else "aws: [ERROR]:")
    sys.stderr.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--local-export-path")
    ap.add_argument("--s3-bucket")
    ap.add_argument("--s3-prefix")
    ap.add_argument("--public-key-file", help="ListPublicKeys-shaped JSON")
    ap.add_argument("--no-time-filter", action="store_true")
    ap.add_argument("--legacy-errors", action="store_true",
                    help="pre-2.34.0 error format (no 'aws: [ERROR]:' prefix)")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except ParamValidationError as e:
        # ParamValidationErrorsHandler, default cli_error_format 'enhanced'
        msg = str(e) if args.legacy_errors else \
            f"An error occurred (ParamValidation): {e}"
        _write_error(msg, args.legacy_errors)
        return PARAM_VALIDATION_ERROR_RC
    except NotImplementedError as e:
        sys.stderr.write(f"verify_query_results_ref: {e}\n")
        return 2
    except Exception as e:  # GeneralExceptionHandler
        _write_error(str(e), args.legacy_errors)
        return GENERAL_ERROR_RC


if __name__ == "__main__":
    sys.exit(main())
