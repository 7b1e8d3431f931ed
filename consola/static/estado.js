// Estado page: reload every data-refresco seconds as an automatic request (?auto=1), so that the
// refresh does not count as activity and the idle session expiry still applies.
(function () {
  var marca = document.getElementById("estado");
  var seg = marca ? parseInt(marca.getAttribute("data-refresco"), 10) : 0;
  if (!seg || seg < 5) { return; }
  window.setTimeout(function () {
    var url = new URL(window.location.href);
    url.searchParams.set("auto", "1");
    window.location.replace(url.toString());
  }, seg * 1000);
}());
